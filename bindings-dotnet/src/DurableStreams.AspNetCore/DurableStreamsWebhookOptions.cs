using DurableStreams.Webhooks;

namespace DurableStreams.AspNetCore;

/// <summary>Options of one <see cref="WebhookEndpointRouteBuilderExtensions.MapDurableStreamsWebhook(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder, string, Func{WebhookWake, CancellationToken, Task{WebhookResult}}, Action{DurableStreamsWebhookOptions}?)"/> endpoint.</summary>
public sealed class DurableStreamsWebhookOptions
{
    /// <summary>The default <see cref="MaxBodyBytes"/>: 1 MiB.</summary>
    public const long DefaultMaxBodyBytes = 1024 * 1024;

    /// <summary>
    /// The verifier to use. Null (the default): the <see cref="WebhookVerifier"/> registered in the
    /// services (<see cref="WebhookServiceCollectionExtensions.AddDurableStreamsWebhookVerifier"/>), else one
    /// made at first use from the registered <see cref="DurableStreamClient"/> with <see cref="Verification"/>.
    /// </summary>
    public WebhookVerifier? Verifier { get; set; }

    /// <summary>The options of the verifier the endpoint makes itself (when neither <see cref="Verifier"/> nor a registered one exists).</summary>
    public WebhookVerifierOptions Verification { get; } = new();

    /// <summary>The largest accepted request body (default 1 MiB); larger deliveries are answered 413.</summary>
    public long MaxBodyBytes { get; set; } = DefaultMaxBodyBytes;
}
