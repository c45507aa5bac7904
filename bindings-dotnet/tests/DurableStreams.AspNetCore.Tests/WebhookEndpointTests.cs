using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using DurableStreams.AspNetCore;
using DurableStreams.Subscriptions;
using DurableStreams.Tests.Infrastructure;
using DurableStreams.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DurableStreams.AspNetCore.Tests;

/// <summary>
/// <c>MapDurableStreamsWebhook</c> in a real Kestrel app on 127.0.0.1, receiving the real signed
/// deliveries of the Node reference server started with webhooks enabled.
/// </summary>
public sealed class WebhookEndpointTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    /// <summary>A request as it reached the app, recorded before the endpoint ran.</summary>
    private sealed record Recorded(string Path, string? Signature, byte[] Body);

    /// <summary>A Kestrel app on 127.0.0.1 with a recording middleware in front of the endpoints.</summary>
    private sealed class App : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private App(WebApplication app, Uri baseUri)
        {
            _app = app;
            BaseUri = baseUri;
        }

        public Uri BaseUri { get; }

        public ConcurrentQueue<Recorded> Requests { get; } = new();

        public IServiceProvider Services => _app.Services;

        public static async Task<App> StartAsync(DurableStreamClient client, Action<IServiceCollection> services, Action<WebApplication> map)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Services.AddSingleton(client);
            services(builder.Services);
            var app = builder.Build();
            App? self = null;
            app.Use(async (HttpContext context, RequestDelegate next) =>
            {
                context.Request.EnableBuffering();
                using var copy = new MemoryStream();
                await context.Request.Body.CopyToAsync(copy, context.RequestAborted);
                context.Request.Body.Position = 0;
                var signature = context.Request.Headers.TryGetValue(WebhookVerifier.SignatureHeaderName, out var values) ? values.ToString() : null;
                self!.Requests.Enqueue(new Recorded(context.Request.Path.Value ?? "/", signature, copy.ToArray()));
                await next(context);
            });
            map(app);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            self = new App(app, new Uri(address));
            return self;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private static async Task<DurableStreamClient> ClientAsync()
    {
        var server = await TestServers.GetWebhooksAsync();
        return new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = server.StreamPrefixUrl });
    }

    /// <summary>A webhook subscription over one fresh JSON stream, delivering to <paramref name="hook"/>.</summary>
    private static async Task<(Subscription Subscription, DurableStream Stream, string Path)> SubscribeAsync(DurableStreamClient client, Uri hook)
    {
        var path = $"dotnet-hooks/events-{Guid.NewGuid():N}";
        var stream = await client.CreateStreamAsync(path, new CreateStreamOptions { ContentType = "application/json" });
        var subscription = client.Subscription($"hook-{Guid.NewGuid():N}");
        var options = SubscriptionOptions.Webhook(hook);
        options.Streams.Add(path);
        var created = await subscription.CreateAsync(options);
        Assert.True(created.Created);
        Assert.NotNull(created.Subscription.Webhook?.Signing);
        return (subscription, stream, path);
    }

    private static async Task<Offset> AckedAsync(Subscription subscription, string path) =>
        (await subscription.GetAsync()).Streams.Single(s => s.Path == path).AckedOffset;

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}");
            }
            await Task.Delay(25);
        }
    }

    private static async Task<T> WithinAsync<T>(Task<T> task, string what)
    {
        var done = await Task.WhenAny(task, Task.Delay(Wait));
        Assert.True(done == task, $"timed out waiting for {what}");
        return await task;
    }

    [Fact]
    public async Task A_real_delivery_is_verified_handled_and_done_acks_it()
    {
        await using var client = await ClientAsync();
        var received = new TaskCompletionSource<WebhookWake>(TaskCreationOptions.RunContinuationsAsynchronously);
        var outcomes = new ConcurrentQueue<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == DurableStreamsWebhookDiagnostics.Deliveries)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == DurableStreamsWebhookDiagnostics.OutcomeTag)
                {
                    outcomes.Enqueue((string)tag.Value!);
                }
            }
        });
        listener.Start();
        await using var app = await App.StartAsync(client, _ => { }, web =>
            web.MapDurableStreamsWebhook("/hooks/orders", async (WebhookWake wake, CancellationToken ct) =>
            {
                await Task.Yield();
                received.TrySetResult(wake);
            }));
        var (subscription, stream, path) = await SubscribeAsync(client, new Uri(app.BaseUri, "/hooks/orders"));
        var before = await AckedAsync(subscription, path);
        var tail = (await stream.AppendAsync("{\"n\":1}")).Offset;

        var wake = await WithinAsync(received.Task, "the handler");
        Assert.Equal(subscription.Id, wake.SubscriptionId);
        Assert.True(wake.Generation >= 1);
        Assert.StartsWith("ds_", wake.KeyId, StringComparison.Ordinal);
        Assert.True(Math.Abs((DateTimeOffset.UtcNow - wake.SignedAt).TotalSeconds) < 10);
        var linked = Assert.Single(wake.Streams);
        Assert.Equal(path, linked.Path);
        Assert.True(linked.HasPending);
        Assert.Equal(before, linked.AckedOffset);
        Assert.Equal(tail, linked.TailOffset);
        Assert.EndsWith($"/__ds/subscriptions/{subscription.Id}/callback", wake.Callback.Url.AbsolutePath, StringComparison.Ordinal);
        Assert.DoesNotContain(wake.Callback.Token, wake.Callback.ToString(), StringComparison.Ordinal);
        Assert.Equal([new SubscriptionAck(path, tail)], wake.TailAcks());

        await EventuallyAsync(async () => await AckedAsync(subscription, path) == tail, "the cursor to reach the tail");
        Assert.Contains("done", outcomes);
        await subscription.DeleteAsync();
    }

    [Fact]
    public async Task Forged_tampered_replayed_and_stale_requests_get_401_and_never_reach_the_handler()
    {
        await using var client = await ClientAsync();
        var calls = 0;
        await using var app = await App.StartAsync(client, _ => { }, web =>
        {
            web.MapDurableStreamsWebhook("/hooks/a", (WebhookWake wake, CancellationToken ct) =>
            {
                Interlocked.Increment(ref calls);
                return Task.CompletedTask;
            });
            web.MapDurableStreamsWebhook(
                "/hooks/short",
                (WebhookWake wake, CancellationToken ct) =>
                {
                    Interlocked.Increment(ref calls);
                    return Task.CompletedTask;
                },
                options => options.Verification.Tolerance = TimeSpan.FromSeconds(1));
            web.MapDurableStreamsWebhook(
                "/hooks/other",
                (WebhookWake wake, CancellationToken ct) =>
                {
                    Interlocked.Increment(ref calls);
                    return Task.CompletedTask;
                },
                options => options.Verification.SubscriptionId = "someone-else");
        });
        var (subscription, stream, path) = await SubscribeAsync(client, new Uri(app.BaseUri, "/hooks/a"));
        var tail = (await stream.AppendAsync("{\"n\":1}")).Offset;
        await EventuallyAsync(async () => await AckedAsync(subscription, path) == tail, "the genuine delivery to be handled");
        Assert.Equal(1, Volatile.Read(ref calls));
        var genuine = Assert.Single(app.Requests, r => r.Path == "/hooks/a");
        Assert.NotNull(genuine.Signature);

        using var http = new HttpClient { BaseAddress = app.BaseUri };
        async Task<HttpStatusCode> PostAsync(string route, string? signature, byte[] body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, route) { Content = new ByteArrayContent(body) };
            if (signature is not null)
            {
                request.Headers.TryAddWithoutValidation(WebhookVerifier.SignatureHeaderName, signature);
            }
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        // The same request again: a replay.
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("/hooks/a", genuine.Signature, genuine.Body));
        // No signature, a malformed one, a tampered body.
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("/hooks/a", null, genuine.Body));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("/hooks/a", "t=1,kid=x", genuine.Body));
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(genuine.Body).Replace(path, path + "x", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("/hooks/a", genuine.Signature, tampered));
        // A receiver for another subscription refuses it.
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("/hooks/other", genuine.Signature, genuine.Body));
        // Two seconds later the genuine request is outside a one-second window (a fresh replay cache).
        await Task.Delay(TimeSpan.FromMilliseconds(2200));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("/hooks/short", genuine.Signature, genuine.Body));
        // A body over the limit is refused before verification.
        Assert.Equal(1, Volatile.Read(ref calls));
        Assert.Equal(tail, await AckedAsync(subscription, path));
        await subscription.DeleteAsync();
    }

    [Fact]
    public async Task A_deferred_wake_is_finished_later_with_the_callback_token()
    {
        await using var client = await ClientAsync();
        var received = new TaskCompletionSource<WebhookWake>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await App.StartAsync(client, services => services.AddDurableStreamsWebhookVerifier(), web =>
            web.MapDurableStreamsWebhook("/hooks/deferred", (WebhookWake wake, CancellationToken ct) =>
            {
                received.TrySetResult(wake);
                return Task.FromResult(WebhookResult.Deferred);
            }));
        var (subscription, stream, path) = await SubscribeAsync(client, new Uri(app.BaseUri, "/hooks/deferred"));
        var before = await AckedAsync(subscription, path);
        var tail = (await stream.AppendAsync("{\"n\":1}")).Offset;
        var wake = await WithinAsync(received.Task, "the handler");
        await Task.Delay(200);
        Assert.Equal(before, await AckedAsync(subscription, path));

        // The registered verifier answers the wake: a lease extension, then done from saved parts.
        var verifier = app.Services.GetRequiredService<WebhookVerifier>();
        Assert.False(await verifier.CallbackAsync(wake.Callback, [], done: false));
        var saved = new WebhookCallback(wake.Callback.Url, wake.WakeId, wake.Generation, wake.Callback.Token);
        Assert.False(await verifier.CallbackAsync(saved, wake.TailAcks(), done: true));
        Assert.Equal(tail, await AckedAsync(subscription, path));

        // The wake is over: the same callback is fenced, a wrong token refused.
        await Assert.ThrowsAsync<SubscriptionFencedException>(() => verifier.CallbackAsync(saved, wake.TailAcks(), done: true));
        var wrong = new WebhookCallback(wake.Callback.Url, wake.WakeId, wake.Generation, wake.Callback.Token + "x");
        var refused = await Assert.ThrowsAnyAsync<DurableStreamException>(() => verifier.CallbackAsync(wrong, wake.TailAcks(), done: true));
        Assert.Equal(DurableStreamErrorCode.Unauthorized, refused.Code);
        await subscription.DeleteAsync();
    }

    [Fact]
    public async Task A_failing_handler_gets_500_and_the_server_redelivers_the_wake()
    {
        await using var client = await ClientAsync();
        var wakes = new ConcurrentQueue<WebhookWake>();
        await using var app = await App.StartAsync(client, _ => { }, web =>
            web.MapDurableStreamsWebhook("/hooks/flaky", (WebhookWake wake, CancellationToken ct) =>
            {
                wakes.Enqueue(wake);
                return wakes.Count == 1 ? throw new InvalidOperationException("first attempt fails") : Task.CompletedTask;
            }));
        var (subscription, stream, path) = await SubscribeAsync(client, new Uri(app.BaseUri, "/hooks/flaky"));
        var tail = (await stream.AppendAsync("{\"n\":1}")).Offset;
        await EventuallyAsync(async () => await AckedAsync(subscription, path) == tail, "the redelivered wake to be handled");
        Assert.Equal(2, wakes.Count);
        var attempts = wakes.ToArray();
        Assert.Equal(attempts[0].WakeId, attempts[1].WakeId);
        Assert.NotEqual(attempts[0].SignedAt, default);
        await subscription.DeleteAsync();
    }

    [Fact]
    public async Task Options_and_arguments_are_validated_naming_what_is_wrong()
    {
        await using var client = await ClientAsync();
        Assert.Throws<ArgumentOutOfRangeException>(() => new WebhookVerifier(client, new WebhookVerifierOptions { Tolerance = TimeSpan.FromMilliseconds(10) }));
        var id = Assert.Throws<ArgumentException>(() => new WebhookVerifier(client, new WebhookVerifierOptions { SubscriptionId = string.Empty }));
        Assert.Equal(nameof(WebhookVerifierOptions.SubscriptionId), id.ParamName);
        await using var rootless = new DurableStreamClient(new DurableStreamClientOptions());
        var jwks = Assert.Throws<ArgumentException>(() => new WebhookVerifier(rootless));
        Assert.Equal(nameof(WebhookVerifierOptions.JwksUrl), jwks.ParamName);
        Assert.Throws<ArgumentException>(() => new WebhookCallback(new Uri("ftp://x/y"), "w", 1, "t"));
        Assert.Throws<ArgumentException>(() => new WebhookCallback(new Uri("http://x/y"), "w", 1, string.Empty));

        using var verifier = new WebhookVerifier(client);
        var rejected = await Assert.ThrowsAsync<WebhookRejectedException>(() => verifier.VerifyAsync("kid=k", "{}"u8.ToArray()));
        Assert.Contains("`t` is missing", rejected.Message, StringComparison.Ordinal);
        Assert.Equal(DurableStreamErrorCode.Unauthorized, rejected.Code);
        await verifier.RefreshKeysAsync();
        var header = $"t={DateTimeOffset.UtcNow.ToUnixTimeSeconds()},kid=ds_unknown,ed25519={new string('A', 86)}";
        rejected = await Assert.ThrowsAsync<WebhookRejectedException>(() => verifier.VerifyAsync(header, "{}"u8.ToArray()));
        Assert.Contains("is not in the server's JWKS", rejected.Message, StringComparison.Ordinal);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => verifier.RefreshKeysAsync(cancelled.Token));
        verifier.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => verifier.VerifyAsync(header, "{}"u8.ToArray()));

        await using var app = await App.StartAsync(client, _ => { }, web =>
            web.MapDurableStreamsWebhook("/hooks/small", (WebhookWake wake, CancellationToken ct) => Task.CompletedTask, options => options.MaxBodyBytes = 16));
        using var http = new HttpClient { BaseAddress = app.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/small") { Content = new ByteArrayContent(new byte[64]) };
        request.Headers.TryAddWithoutValidation(WebhookVerifier.SignatureHeaderName, header);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }
}
