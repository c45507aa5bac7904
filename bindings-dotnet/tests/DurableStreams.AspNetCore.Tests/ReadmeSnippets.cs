using DurableStreams.Subscriptions;
using DurableStreams.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace DurableStreams.AspNetCore.Tests;

/// <summary>
/// The C# blocks of src/DurableStreams.AspNetCore/README.md and docs/webhooks.md, copied unchanged
/// (compile-time checks: the build fails when the API drifts; nothing here runs).
/// </summary>
internal static class ReadmeSnippets
{
    public static void Program(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddSingleton(new DurableStreamClient(new DurableStreamClientOptions
        {
            BaseUrl = "https://streams.example.com/v1/stream",
        }));
        builder.Services.AddDurableStreamsWebhookVerifier(o => o.SubscriptionId = "orders");
        var app = builder.Build();

        // Finished when the handler returns: the endpoint answers { "done": true }.
        app.MapDurableStreamsWebhook("/hooks/orders", async (WebhookWake wake, CancellationToken ct) =>
        {
            foreach (var stream in wake.Streams.Where(s => s.HasPending))
            {
                // Read stream.Path after stream.AckedOffset up to stream.TailOffset and process it.
                await Task.CompletedTask;
            }
        });

        // Deferred: answer {} now, call back with the token when the work is done.
        app.MapDurableStreamsWebhook("/hooks/reports", (WebhookWake wake, CancellationToken ct) =>
        {
            var verifier = app.Services.GetRequiredService<WebhookVerifier>();
            _ = Task.Run(async () =>
            {
                // ... long work ...
                await verifier.CallbackAsync(wake.Callback, wake.TailAcks(), done: true, CancellationToken.None);
            }, CancellationToken.None);
            return Task.FromResult(WebhookResult.Deferred);
        });

        app.Run();
    }

    public static async Task CreateSubscription(DurableStreamClient client)
    {
        var options = SubscriptionOptions.Webhook(new Uri("https://worker.example.com/hooks/orders"));
        options.Pattern = "orders/*";
        await client.Subscription("orders").CreateAsync(options);
    }

    public static async Task VerifyByHand(DurableStreamClient client, string signatureHeader, byte[] rawBody, CancellationToken ct)
    {
        using var verifier = new WebhookVerifier(client, new WebhookVerifierOptions { SubscriptionId = "orders" });
        try
        {
            var wake = await verifier.VerifyAsync(signatureHeader, rawBody, ct);
            // ... process wake.Streams ...
            await verifier.CallbackAsync(wake.Callback, wake.TailAcks(), done: true, ct);
        }
        catch (WebhookRejectedException)
        {
            // answer 401
        }
    }
}
