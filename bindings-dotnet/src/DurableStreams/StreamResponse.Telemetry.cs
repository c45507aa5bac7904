using System.Diagnostics;
using DurableStreams.Diagnostics;
using DurableStreams.Interop;

namespace DurableStreams;

// StreamResponse: Traces, meters and logs of the read session (inert when nothing listens).
public partial class StreamResponse
{
    private Activity? _activity;
    private long _chunkCount;
    private long _byteCount;

    /// <summary>Counts the session and starts its activity (detached: it spans the whole session).</summary>
    private void StartTelemetry(TelemetryTarget target, Offset start, LiveMode live)
    {
        Telemetry.ReadSessions.Add(1, new KeyValuePair<string, object?>("server.address", target.ServerAddress));
        _activity = Telemetry.StartDetached("read", ActivityKind.Consumer, target, "receive");
        if (_activity is { IsAllDataRequested: true })
        {
            _activity.SetTag("durablestreams.read.live", live.ToString());
            _activity.SetTag("durablestreams.read.start_offset", start.Value);
        }
    }

    /// <summary>Counts a delivered chunk (session totals for the activity; the read meters).</summary>
    private void RecordChunk(ChunkData chunk)
    {
        _chunkCount++;
        _byteCount += chunk.Length;
        if (Telemetry.ReadChunks.Enabled || Telemetry.ReadBytes.Enabled || Telemetry.ReadMessages.Enabled)
        {
            var server = new KeyValuePair<string, object?>("server.address", _stream?.Target.ServerAddress);
            Telemetry.ReadChunks.Add(1, server);
            Telemetry.ReadBytes.Add(chunk.Length, server);
            if (chunk.IsJson)
            {
                Telemetry.ReadMessages.Add(chunk.MessageCount, server);
            }
        }
    }

    /// <summary>When a caught-up live session starts waiting for a chunk, the wait is the delivery delay of new data: its start, or 0.</summary>
    private long LiveWaitStart() =>
        _upToDate && Live != LiveMode.Off && Telemetry.ReadLiveWait.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Records the live wait begun at <paramref name="start"/> (see <see cref="LiveWaitStart"/>) once data arrived.</summary>
    private void RecordLiveWait(long start, ChunkData? chunk)
    {
        if (start != 0 && chunk is { Data.Length: > 0 })
        {
            Telemetry.ReadLiveWait.Record(
                Stopwatch.GetElapsedTime(start).TotalSeconds,
                new KeyValuePair<string, object?>("server.address", _stream?.Target.ServerAddress),
                new KeyValuePair<string, object?>("durablestreams.read.live", Live.ToString()));
        }
    }

    /// <summary>Ends the read session's activity (once) with the totals, marking it failed when <paramref name="error"/> is set.</summary>
    private void StopActivity(Exception? error)
    {
        var activity = Interlocked.Exchange(ref _activity, null);
        if (activity is null)
        {
            return;
        }
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("durablestreams.read.chunks", _chunkCount);
            activity.SetTag("durablestreams.read.bytes", _byteCount);
            activity.SetTag("durablestreams.read.end_offset", _checkpoint.Offset.Value);
        }
        if (error is not null)
        {
            Telemetry.Fail(activity, error);
        }
        activity.Dispose();
    }

    /// <summary>Counts, logs and traces a failed read (cancellation and disposal are not failures).</summary>
    private void OnReadFailed(Exception error)
    {
        if (_stream is null || error is OperationCanceledException or ObjectDisposedException)
        {
            return;
        }
        var target = _stream.Target;
        var (code, status) = Log.Details(error);
        var tags = new TagList
        {
            { "durablestreams.operation", "read" },
            { "server.address", target.ServerAddress },
            { "error.type", code },
        };
        if (status is { } s)
        {
            tags.Add("http.response.status_code", s);
        }
        Telemetry.Errors.Add(1, tags);
        if (_stream.Client.Logger is { } logger)
        {
            Log.ReadFailed(logger, target.SafeUrl, _checkpoint.Offset.Value, code, status, error);
        }
        StopActivity(error);
    }
}
