using System.Diagnostics;
using DurableStreams.Diagnostics;

namespace DurableStreams;

// IdempotentProducer: metrics and traces of appends and flushes (inert when nothing listens).
public partial class IdempotentProducer
{
    /// <summary>Counts a message accepted into the buffer (metrics, and the shutdown report).</summary>
    private void CountAccepted(int bytes)
    {
        Interlocked.Increment(ref _accepted);
        if (Telemetry.ProducerMessages.Enabled || Telemetry.ProducerBytes.Enabled)
        {
            var server = new KeyValuePair<string, object?>("server.address", _sink.Target?.ServerAddress);
            Telemetry.ProducerMessages.Add(1, server);
            Telemetry.ProducerBytes.Add(bytes, server);
        }
    }

    /// <summary>Wraps a flush or close in an activity and counts it.</summary>
    private async Task TraceFlushAsync(string operation, Func<Task> run)
    {
        var target = _sink.Target;
        if (target is null)
        {
            await run().ConfigureAwait(false);
            return;
        }
        Telemetry.ProducerFlushes.Add(1, new KeyValuePair<string, object?>("server.address", target.ServerAddress), new KeyValuePair<string, object?>("durablestreams.operation", operation));
        using var activity = Telemetry.StartDetached(operation, ActivityKind.Producer, target, "send");
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("durablestreams.producer.id", ProducerId);
            activity.SetTag("durablestreams.producer.pending_messages", SafeCount(static p => p.PendingCount));
            activity.SetTag("durablestreams.producer.epoch", SafeEpoch());
        }
        try
        {
            await run().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Telemetry.Fail(activity, e);
            throw;
        }
    }

    private int SafeCount(Func<IdempotentProducer, int> count)
    {
        try
        {
            return count(this);
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
    }

    private long SafeEpoch()
    {
        try
        {
            return Epoch;
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
    }
}
