using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace StreamDingo;

/// <summary>
/// StreamDingo's <see cref="ActivitySource"/> and <see cref="Meter"/>, both named <c>StreamDingo</c>:
/// subscribe with <c>AddSource("StreamDingo")</c> / <c>AddMeter("StreamDingo")</c> in OpenTelemetry.
/// </summary>
public static class StreamDingoTelemetry
{
    /// <summary>The name of the activity source and the meter.</summary>
    public const string Name = "StreamDingo";

    /// <summary>Spans: <c>streamdingo.append</c>, <c>streamdingo.load</c>, <c>streamdingo.snapshot</c>.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name, "0.1.0");

    /// <summary>Instruments: see the counters and histograms of this class.</summary>
    public static Meter Meter { get; } = new(Name, "0.1.0");

    internal static readonly Counter<long> EventsAppended = Meter.CreateCounter<long>("streamdingo.events.appended", "{event}", "Events written by appends.");
    internal static readonly Counter<long> EventsReplayed = Meter.CreateCounter<long>("streamdingo.events.replayed", "{event}", "Events applied by the replay engine.");
    internal static readonly Counter<long> SnapshotsCreated = Meter.CreateCounter<long>("streamdingo.snapshots.created", "{snapshot}", "Snapshots saved.");
    internal static readonly Counter<long> ConcurrencyConflicts = Meter.CreateCounter<long>("streamdingo.concurrency.conflicts", "{conflict}", "Appends refused because the stream was not at the expected version.");
    internal static readonly Counter<long> IntegrityFailures = Meter.CreateCounter<long>("streamdingo.integrity.failures", "{failure}", "Events or snapshots that failed their hash check.");
    internal static readonly Counter<long> HandlerChanges = Meter.CreateCounter<long>("streamdingo.replay.handler_changes", "{load}", "Loads whose newest snapshot was built by other handler code.");
    internal static readonly Histogram<double> LoadDuration = Meter.CreateHistogram<double>("streamdingo.load.duration", "ms", "Time to load (replay) one stream's state.");
}
