using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using S2.StreamStore.Extensions.DependencyInjection;
using S2.StreamStore.Interop;

namespace S2.StreamStore.Tests;

/// <summary>Dependency injection, the health check and native handle accounting. Runs alone: the live-handle count is process-wide, so another test opening or freeing handles meanwhile would move it.</summary>
[Collection(AllocationCollection.Name)]
public class IntegrationTests
{
    [LiteFact]
    public async Task AddS2Client_registers_a_client_and_the_health_check_reports_healthy()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddS2Client(o =>
        {
            o.AccessToken = "lite";
            o.Endpoint = new Uri(Lite.Endpoint!);
        });
        services.AddHealthChecks().AddS2();
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<S2Client>();
        Assert.Same(client, provider.GetRequiredService<S2Client>());
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(Lite.Timeout());
        Assert.Equal(HealthStatus.Healthy, report.Status);
    }

    [Fact]
    public async Task The_health_check_reports_unhealthy_for_a_dead_endpoint()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddS2Client(o =>
        {
            o.AccessToken = "t";
            o.Endpoint = new Uri("http://127.0.0.1:9");
            o.Retry.MaxAttempts = 1;
        });
        services.AddHealthChecks().AddS2(basin: "some-basin", stream: "s", timeout: TimeSpan.FromSeconds(5));
        await using var provider = services.BuildServiceProvider();
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(Lite.Timeout());
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
    }

    [LiteFact]
    public async Task Native_handles_return_to_their_baseline()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("leaks");
        await using (client)
        using (stream)
        {
            await stream.AppendAsync(new AppendRecord("warm"), cancellationToken: Lite.Timeout());
            var baseline = NativeDiagnostics.LiveHandles;
            await stream.AppendAsync(new AppendRecord("x"), cancellationToken: Lite.Timeout());
            await stream.ReadAsync(cancellationToken: Lite.Timeout());
            await Assert.ThrowsAsync<SeqNumMismatchException>(() => stream.AppendAsync(new AppendRecord("x"), new AppendOptions { MatchSeqNum = 0 }, Lite.Timeout()));
            await using (var session = await stream.OpenAppendSessionAsync(cancellationToken: Lite.Timeout()))
            {
                await session.AppendAsync(new AppendRecord("s"), waitForAck: true, Lite.Timeout());
            }
            await using (var producer = await stream.OpenProducerAsync(cancellationToken: Lite.Timeout()))
            {
                await producer.AppendAsync(new AppendRecord("p"), waitForAck: true, Lite.Timeout());
            }
            await using (var read = await stream.OpenReadSessionAsync(new ReadSessionOptions { Count = 2 }, Lite.Timeout()))
            {
                await foreach (var _ in read.WithCancellation(Lite.Timeout()))
                {
                }
            }
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (NativeDiagnostics.LiveHandles != baseline && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            Assert.Equal(baseline, NativeDiagnostics.LiveHandles);
            Assert.Equal(0, NativeCallbacks.UnexpectedCount);
        }
    }
}
