using DurableStreams.Webhooks;
using Microsoft.Extensions.DependencyInjection;

namespace DurableStreams.AspNetCore;

/// <summary>Registers the webhook verifier used by <see cref="WebhookEndpointRouteBuilderExtensions.MapDurableStreamsWebhook(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder, string, Func{WebhookWake, CancellationToken, Task{WebhookResult}}, Action{DurableStreamsWebhookOptions}?)"/>.</summary>
public static class WebhookServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="WebhookVerifier"/> made from the registered
    /// <see cref="DurableStreamClient"/> (for example by <c>services.AddDurableStreams()</c>). Every
    /// mapped webhook endpoint uses it, and application code resolves it to answer deferred wakes
    /// (<see cref="WebhookVerifier.CallbackAsync"/>). The container disposes it.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Verifier options; null for the defaults.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IServiceCollection AddDurableStreamsWebhookVerifier(this IServiceCollection services, Action<WebhookVerifierOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(provider =>
        {
            var options = new WebhookVerifierOptions();
            configure?.Invoke(options);
            return new WebhookVerifier(provider.GetRequiredService<DurableStreamClient>(), options);
        });
        return services;
    }
}
