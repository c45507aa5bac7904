using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using DurableStreams.Diagnostics;
using static DurableStreams.DurableStreamsDiagnostics;

namespace DurableStreams.Subscriptions;

/// <summary>Metrics and traces of pull workers (on the library's Meter and ActivitySource).</summary>
internal static class SubscriptionTelemetry
{
    private const string SubscriptionTag = "durablestreams.subscription";
    private const string WorkerTag = "durablestreams.worker";
    private const string OutcomeTag = "durablestreams.outcome";

    private static readonly ConcurrentDictionary<SubscriptionWorker, byte> s_workers = new();

    private static readonly Counter<long> s_batches =
        Telemetry.Meter.CreateCounter<long>(Instruments.SubscriptionBatches, "{batch}", "Subscription batches pull workers finished.");

    private static readonly Histogram<double> s_batchDuration =
        Telemetry.Meter.CreateHistogram<double>(Instruments.SubscriptionBatchDuration, "s", "Time from a subscription batch's delivery to its completion.");

    static SubscriptionTelemetry()
    {
        Observe(Instruments.SubscriptionClaims, "{claim}", "Wakes pull workers claimed.", static s => s.Claims);
        Observe(Instruments.SubscriptionAlreadyClaimed, "{claim}", "Claims refused because another worker held the lease.", static s => s.AlreadyClaimed);
        Observe(Instruments.SubscriptionHeartbeats, "{heartbeat}", "Heartbeats the server accepted.", static s => s.Heartbeats);
        Observe(Instruments.SubscriptionWakesCompleted, "{wake}", "Wakes finished with an ack with done.", static s => s.WakesCompleted);
        Observe(Instruments.SubscriptionLeasesLost, "{wake}", "Wakes given up because the lease was lost.", static s => s.LeasesLost);
    }

    /// <summary>Includes <paramref name="worker"/> in the observable counters until <see cref="Forget"/>.</summary>
    internal static void Track(SubscriptionWorker worker) => s_workers.TryAdd(worker, 0);

    internal static void Forget(SubscriptionWorker worker) => s_workers.TryRemove(worker, out _);

    /// <summary>Counts the batch and records its span, on the thread that completes it (so that no Activity.Current is left on a native thread).</summary>
    internal static void BatchCompleted(SubscriptionBatch batch, string outcome)
    {
        var elapsed = batch.Elapsed;
        var tags = new TagList
        {
            { SubscriptionTag, batch.SubscriptionId },
            { WorkerTag, batch.WorkerName },
            { OutcomeTag, outcome },
        };
        s_batches.Add(1, tags);
        s_batchDuration.Record(elapsed.TotalSeconds, tags);
        if (!Telemetry.Source.HasListeners())
        {
            return;
        }
        var previous = Activity.Current;
        using (var activity = Telemetry.Source.StartActivity(
            "durablestreams.subscription.batch",
            ActivityKind.Consumer,
            parentContext: default,
            startTime: DateTimeOffset.UtcNow - elapsed))
        {
            if (activity is not null)
            {
                activity.SetTag("messaging.system", MessagingSystem);
                activity.SetTag("messaging.destination.name", batch.Stream);
                activity.SetTag(SubscriptionTag, batch.SubscriptionId);
                activity.SetTag(WorkerTag, batch.WorkerName);
                activity.SetTag(OutcomeTag, outcome);
                activity.SetTag("durablestreams.offset", batch.Offset.ToString());
                activity.SetTag("durablestreams.generation", batch.Generation);
                if (outcome != "acked")
                {
                    activity.SetStatus(ActivityStatusCode.Error, outcome);
                }
            }
        }
        Activity.Current = previous;
    }

    private static void Observe(string name, string unit, string description, Func<SubscriptionWorkerStats, long> value) =>
        Telemetry.Meter.CreateObservableCounter(name, () => Measure(value), unit, description);

    private static IEnumerable<Measurement<long>> Measure(Func<SubscriptionWorkerStats, long> value)
    {
        foreach (var worker in s_workers.Keys)
        {
            if (worker.TryGetStats() is { } stats)
            {
                yield return new Measurement<long>(
                    value(stats),
                    new KeyValuePair<string, object?>(SubscriptionTag, worker.Subscription.Id),
                    new KeyValuePair<string, object?>(WorkerTag, worker.Name));
            }
        }
    }
}
