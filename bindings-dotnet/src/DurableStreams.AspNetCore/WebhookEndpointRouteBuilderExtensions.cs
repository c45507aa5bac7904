using DurableStreams.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace DurableStreams.AspNetCore;

/// <summary>Maps Durable Streams webhook receivers.</summary>
public static class WebhookEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST <paramref name="pattern"/></c> as the receiver of a webhook subscription. Each
    /// request's raw body and <c>Webhook-Signature</c> are verified before <paramref name="handler"/>
    /// runs; a forged, tampered, replayed, stale or foreign request is answered 401 and never reaches
    /// it. The handler's <see cref="WebhookResult"/> decides the answer: <c>{ "done": true }</c>, or
    /// <c>{}</c> to finish later with the wake's callback token. A handler that throws gets 500 and
    /// the server redelivers the wake.
    /// </summary>
    /// <param name="endpoints">The route builder (a <c>WebApplication</c>).</param>
    /// <param name="pattern">The route, e.g. <c>/hooks/orders</c>.</param>
    /// <param name="handler">The application code for one verified wake.</param>
    /// <param name="configure">Options of this endpoint; null for the defaults.</param>
    /// <returns>The endpoint's builder, for more conventions.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="DurableStreamsWebhookOptions.MaxBodyBytes"/> is not positive or above 1 GiB.</exception>
    public static IEndpointConventionBuilder MapDurableStreamsWebhook(
        this IEndpointRouteBuilder endpoints,
        string pattern,
        Func<WebhookWake, CancellationToken, Task<WebhookResult>> handler,
        Action<DurableStreamsWebhookOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(handler);
        var options = new DurableStreamsWebhookOptions();
        configure?.Invoke(options);
        if (options.MaxBodyBytes <= 0 || options.MaxBodyBytes > 1L << 30)
        {
            throw new ArgumentOutOfRangeException(nameof(configure), options.MaxBodyBytes, "DurableStreamsWebhookOptions.MaxBodyBytes must be from 1 byte to 1 GiB.");
        }
        var endpoint = new WebhookEndpoint(endpoints.ServiceProvider, options, handler);
        return endpoints.MapPost(pattern, endpoint.HandleAsync);
    }

    /// <summary>
    /// Maps <c>POST <paramref name="pattern"/></c> as the receiver of a webhook subscription, like
    /// <see cref="MapDurableStreamsWebhook(IEndpointRouteBuilder, string, Func{WebhookWake, CancellationToken, Task{WebhookResult}}, Action{DurableStreamsWebhookOptions}?)"/>,
    /// for a handler that finishes the wake when it returns (the answer is <c>{ "done": true }</c>).
    /// </summary>
    /// <param name="endpoints">The route builder (a <c>WebApplication</c>).</param>
    /// <param name="pattern">The route, e.g. <c>/hooks/orders</c>.</param>
    /// <param name="handler">The application code for one verified wake.</param>
    /// <param name="configure">Options of this endpoint; null for the defaults.</param>
    /// <returns>The endpoint's builder, for more conventions.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static IEndpointConventionBuilder MapDurableStreamsWebhook(
        this IEndpointRouteBuilder endpoints,
        string pattern,
        Func<WebhookWake, CancellationToken, Task> handler,
        Action<DurableStreamsWebhookOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return endpoints.MapDurableStreamsWebhook(
            pattern,
            async (wake, cancellationToken) =>
            {
                await handler(wake, cancellationToken).ConfigureAwait(false);
                return WebhookResult.Done;
            },
            configure);
    }
}
