using System.Buffers;
using System.Diagnostics;
using DurableStreams.Webhooks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableStreams.AspNetCore;

/// <summary>One mapped webhook endpoint: reads the raw body, verifies it, runs the handler, answers.</summary>
internal sealed class WebhookEndpoint
{
    private const string DoneBody = "{\"done\":true}";
    private const string DeferredBody = "{}";

    private readonly IServiceProvider _services;
    private readonly DurableStreamsWebhookOptions _options;
    private readonly Func<WebhookWake, CancellationToken, Task<WebhookResult>> _handler;
    private readonly ILogger _logger;
    private readonly Lazy<WebhookVerifier> _verifier;

    internal WebhookEndpoint(IServiceProvider services, DurableStreamsWebhookOptions options, Func<WebhookWake, CancellationToken, Task<WebhookResult>> handler)
    {
        _services = services;
        _options = options;
        _handler = handler;
        _logger = services.GetService<ILoggerFactory>()?.CreateLogger("DurableStreams.AspNetCore.Webhooks") ?? NullLogger.Instance;
        _verifier = new Lazy<WebhookVerifier>(ResolveVerifier, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    private WebhookVerifier ResolveVerifier()
    {
        if (_options.Verifier is { } given)
        {
            return given;
        }
        if (_services.GetService<WebhookVerifier>() is { } registered)
        {
            return registered;
        }
        var client = _services.GetService<DurableStreamClient>()
            ?? throw new InvalidOperationException(
                "MapDurableStreamsWebhook needs a WebhookVerifier: set DurableStreamsWebhookOptions.Verifier, call services.AddDurableStreamsWebhookVerifier(), or register a DurableStreamClient (services.AddDurableStreams()).");
        var verifier = new WebhookVerifier(client, _options.Verification);
        // The endpoint made it, so the endpoint frees it when the application stops.
        _services.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(verifier.Dispose);
        return verifier;
    }

    internal async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var aborted = context.RequestAborted;
        var path = request.Path.Value ?? "/";
        if (!request.Headers.TryGetValue(WebhookVerifier.SignatureHeaderName, out var signatures) || signatures.Count != 1 || string.IsNullOrEmpty(signatures[0]))
        {
            await RejectAsync(context, path, $"exactly one {WebhookVerifier.SignatureHeaderName} header is required").ConfigureAwait(false);
            return;
        }
        if (request.ContentLength > _options.MaxBodyBytes)
        {
            await TooLargeAsync(context).ConfigureAwait(false);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(request.ContentLength ?? 4096, _options.MaxBodyBytes) + 1);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > _options.MaxBodyBytes)
                    {
                        await TooLargeAsync(context).ConfigureAwait(false);
                        return;
                    }
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, _options.MaxBodyBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length), aborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                length += read;
                if (length > _options.MaxBodyBytes)
                {
                    await TooLargeAsync(context).ConfigureAwait(false);
                    return;
                }
            }

            WebhookWake wake;
            try
            {
                wake = await _verifier.Value.VerifyAsync(signatures[0]!, buffer.AsMemory(0, length), aborted).ConfigureAwait(false);
            }
            catch (WebhookRejectedException e)
            {
                await RejectAsync(context, path, e.Message).ConfigureAwait(false);
                return;
            }
            catch (DurableStreamException e) when (e.Code != DurableStreamErrorCode.Cancelled)
            {
                // The keys could not be fetched (or the signed body is not a wake): the server retries later.
                Log.Unavailable(_logger, e, path);
                Count("unavailable", null);
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return;
            }
            await RunHandlerAsync(context, wake).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task RunHandlerAsync(HttpContext context, WebhookWake wake)
    {
        Log.Verified(_logger, wake.SubscriptionId, wake.WakeId, wake.Generation, wake.Streams.Count);
        using var activity = WebhookDiagnostics.StartActivity(wake);
        var started = Stopwatch.GetTimestamp();
        WebhookResult result;
        try
        {
            result = await _handler(wake, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            Log.HandlerFailed(_logger, e, wake.SubscriptionId, wake.WakeId);
            activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
            Record(started, "failed", wake.SubscriptionId);
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return;
        }
        var outcome = result == WebhookResult.Deferred ? "deferred" : "done";
        Record(started, outcome, wake.SubscriptionId);
        activity?.SetTag(DurableStreamsWebhookDiagnostics.OutcomeTag, outcome);
        Log.Handled(_logger, wake.SubscriptionId, wake.WakeId, outcome);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(result == WebhookResult.Deferred ? DeferredBody : DoneBody, context.RequestAborted).ConfigureAwait(false);
    }

    private Task RejectAsync(HttpContext context, string path, string reason)
    {
        Log.Rejected(_logger, path, reason);
        Count("rejected", null);
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Task.CompletedTask;
    }

    private static Task TooLargeAsync(HttpContext context)
    {
        Count("too_large", null);
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        return Task.CompletedTask;
    }

    private static void Count(string outcome, string? subscriptionId)
    {
        var tags = new TagList { { DurableStreamsWebhookDiagnostics.OutcomeTag, outcome } };
        if (subscriptionId is not null)
        {
            tags.Add(DurableStreamsWebhookDiagnostics.SubscriptionTag, subscriptionId);
        }
        DurableStreamsWebhookDiagnostics.DeliveryCounter.Add(1, tags);
    }

    private static void Record(long started, string outcome, string subscriptionId)
    {
        Count(outcome, subscriptionId);
        var tags = new TagList
        {
            { DurableStreamsWebhookDiagnostics.OutcomeTag, outcome },
            { DurableStreamsWebhookDiagnostics.SubscriptionTag, subscriptionId },
        };
        DurableStreamsWebhookDiagnostics.HandlerSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
    }
}

/// <summary>The activity around a handler's run.</summary>
internal static class WebhookDiagnostics
{
    internal static Activity? StartActivity(WebhookWake wake)
    {
        var activity = DurableStreamsWebhookDiagnostics.Source.StartActivity(DurableStreamsWebhookDiagnostics.ActivityName, ActivityKind.Consumer);
        if (activity is not null)
        {
            activity.SetTag("messaging.system", DurableStreamsDiagnostics.MessagingSystem);
            activity.SetTag(DurableStreamsWebhookDiagnostics.SubscriptionTag, wake.SubscriptionId);
            activity.SetTag("durablestreams.wake.id", wake.WakeId);
            activity.SetTag("durablestreams.wake.generation", wake.Generation);
        }
        return activity;
    }
}
