using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace DurableStreams.AspNetCore;

/// <summary>
/// The instruments of the webhook endpoint. They belong to the package's usual
/// <see cref="DurableStreamsDiagnostics.MeterName"/> meter and <see cref="DurableStreamsDiagnostics.ActivitySourceName"/>
/// activity source, so one <c>AddMeter</c> / <c>AddSource</c> covers them.
/// </summary>
public static class DurableStreamsWebhookDiagnostics
{
    /// <summary>Counter of webhook requests, tagged with <see cref="OutcomeTag"/>.</summary>
    public const string Deliveries = "durablestreams.webhook.deliveries";

    /// <summary>Histogram (seconds) of the handler's run time for verified deliveries, tagged with <see cref="OutcomeTag"/>.</summary>
    public const string HandlerDuration = "durablestreams.webhook.handler.duration";

    /// <summary>
    /// The outcome tag: <c>done</c>, <c>deferred</c> (the handler ran), <c>rejected</c> (401: forged,
    /// replayed, stale or for another subscription; no user code ran), <c>failed</c> (500: the handler
    /// threw; the server redelivers), <c>unavailable</c> (503: the keys could not be fetched),
    /// <c>too_large</c> (413).
    /// </summary>
    public const string OutcomeTag = "durablestreams.webhook.outcome";

    /// <summary>The subscription id tag (verified deliveries only).</summary>
    public const string SubscriptionTag = "durablestreams.subscription.id";

    /// <summary>The name of the activity around a handler's run: <c>webhook receive</c>.</summary>
    public const string ActivityName = "webhook receive";

    internal static readonly ActivitySource Source = new(DurableStreamsDiagnostics.ActivitySourceName);

    internal static readonly Meter Meter = new(DurableStreamsDiagnostics.MeterName);

    internal static readonly Counter<long> DeliveryCounter = Meter.CreateCounter<long>(Deliveries, unit: "{request}", description: "Webhook requests received, by outcome.");

    internal static readonly Histogram<double> HandlerSeconds = Meter.CreateHistogram<double>(HandlerDuration, unit: "s", description: "Time the webhook handler ran.");
}
