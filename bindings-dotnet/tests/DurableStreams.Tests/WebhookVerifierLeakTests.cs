using System.Runtime.CompilerServices;
using DurableStreams.Interop;
using DurableStreams.Tests.Infrastructure;
using DurableStreams.Webhooks;

namespace DurableStreams.Tests;

/// <summary>
/// The webhook verifier's native objects (<c>DsWebhookVerifier</c>, the errors of rejected
/// deliveries and refused callbacks, cancel handles) are freed: <c>ds_test_live_handles()</c>
/// returns to its baseline. Runs alone with the other leak tests (the count is process-wide).
/// The verification itself is tested against a server with webhooks in DurableStreams.AspNetCore.Tests.
/// </summary>
[Collection(LeakCollection.Name)]
public class WebhookVerifierLeakTests : ServerTest
{
    public WebhookVerifierLeakTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task Webhook_verifier_handles_return_to_baseline()
    {
        var baseline = await SettleAsync(ulong.MaxValue);
        await ExerciseAsync();
        var final = await SettleAsync(baseline);
        Assert.True(final == baseline, $"ds_test_live_handles: baseline {baseline}, after {final}");
        Assert.Equal(0, NativeCallbacks.UnexpectedCount);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private async Task ExerciseAsync()
    {
        await using var client = NewClient(TestServers.Node);
        using (var verifier = new WebhookVerifier(client))
        {
            await verifier.RefreshKeysAsync(Timeout());
            await Assert.ThrowsAsync<WebhookRejectedException>(() => verifier.VerifyAsync("t=1", "{}"u8.ToArray(), Timeout()));
            var header = $"t={DateTimeOffset.UtcNow.ToUnixTimeSeconds()},kid=ds_unknown,ed25519={new string('A', 86)}";
            await Assert.ThrowsAsync<WebhookRejectedException>(() => verifier.VerifyAsync(header, "{}"u8.ToArray(), Timeout()));
            var callback = new WebhookCallback(new Uri($"{Server(TestServers.Node).StreamPrefixUrl}/__ds/subscriptions/none/callback"), "w", 1, "token");
            await Assert.ThrowsAnyAsync<DurableStreamException>(() => verifier.CallbackAsync(callback, [], done: true, Timeout()));
            using var cancelled = new CancellationTokenSource();
            await cancelled.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => verifier.VerifyAsync(header, "{}"u8.ToArray(), cancelled.Token));
        }
        Assert.Throws<ArgumentException>(() => new WebhookVerifier(client, new WebhookVerifierOptions { SubscriptionId = string.Empty }));
        // A verifier left to the finalizer frees its handle too.
        _ = new WebhookVerifier(client);
    }

    private static async Task<ulong> SettleAsync(ulong target)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var last = ulong.MaxValue;
        var stableRounds = 0;
        while (true)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var now = NativeDiagnostics.LiveHandles;
            if (now == target)
            {
                return now;
            }
            stableRounds = now == last ? stableRounds + 1 : 0;
            if ((target == ulong.MaxValue && stableRounds >= 3) || DateTime.UtcNow > deadline)
            {
                return now;
            }
            last = now;
            await Task.Delay(50);
        }
    }
}
