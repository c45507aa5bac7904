using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace StreamDingo;

/// <summary>The replay engine: folds verified events through the registered handlers, starting from the best usable snapshot.</summary>
public sealed class EventReplayEngine : IEventReplayEngine
{
    private readonly EventStoreBase _store;
    private readonly HandlerRegistry _handlers;
    private readonly ILogger _logger;

    /// <summary>An engine over <paramref name="store"/> with <paramref name="handlers"/>.</summary>
    /// <param name="store">The event store (its context supplies types, snapshots and options).</param>
    /// <param name="handlers">The handlers.</param>
    public EventReplayEngine(EventStoreBase store, HandlerRegistry handlers)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(handlers);
        _store = store;
        _handlers = handlers;
        _logger = store.Context.LoggerFactory.CreateLogger("StreamDingo.Replay");
    }

    /// <inheritdoc />
    public async ValueTask<T> ReplayEventsAsync<T>(string streamId, CancellationToken cancellationToken = default)
        where T : class
    {
        var result = await ApplyAsync<T>(streamId, null, 0, EventHashChain.GenesisHash, ReplaySource.FromBeginning, cancellationToken).ConfigureAwait(false);
        return result.State ?? throw new InvalidOperationException($"Stream '{streamId}' has no event handled for {typeof(T).Name} (version {result.Version}).");
    }

    /// <inheritdoc />
    public async ValueTask<T> ReplayFromSnapshotAsync<T>(string streamId, Snapshot<T> snapshot, CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(snapshot.State);
        var actual = _store.Context.Snapshots.ComputeStateHash(snapshot.State);
        if (!string.Equals(actual, snapshot.Hash, StringComparison.OrdinalIgnoreCase))
        {
            throw new SnapshotIntegrityException(streamId, snapshot.Version, snapshot.Hash, actual);
        }
        if (snapshot.ReadPosition is { } position)
        {
            _store.RestoreReadPosition(streamId, snapshot.Version, position);
        }
        var result = await ApplyAsync(streamId, snapshot.State, snapshot.Version, snapshot.EventHash, ReplaySource.FromLatestSnapshot, cancellationToken).ConfigureAwait(false);
        return result.State!;
    }

    /// <inheritdoc />
    public async ValueTask<ReplayResult<T>> ReplayAsync<T>(string streamId, CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        using var activity = StreamDingoTelemetry.ActivitySource.StartActivity("streamdingo.load");
        activity?.SetTag("streamdingo.stream_id", streamId);
        var started = Stopwatch.GetTimestamp();

        Snapshot<T>? start = null;
        var source = ReplaySource.FromBeginning;
        var examined = 0;
        await foreach (var snapshot in _store.Context.Snapshots.ReadNewestFirstAsync<T>(streamId, cancellationToken).ConfigureAwait(false))
        {
            if (_handlers.IsCompatible<T>(snapshot.HandlerHashes))
            {
                start = snapshot;
                source = examined == 0 ? ReplaySource.FromLatestSnapshot : ReplaySource.FromCompatibleSnapshot;
                break;
            }
            if (examined == 0)
            {
                StreamDingoTelemetry.HandlerChanges.Add(1);
                Log.HandlerChanged(_logger, streamId, typeof(T).Name, snapshot.Version);
            }
            source = ReplaySource.FromBeginningAfterHandlerChange;
            if (++examined >= _store.Context.Options.MaxSnapshotsExamined)
            {
                break;
            }
        }

        if (start?.ReadPosition is { } position)
        {
            // A process that never read this stream starts at the snapshot's position, not the beginning.
            _store.RestoreReadPosition(streamId, start.Version, position);
        }
        var result = start is null
            ? await ApplyAsync<T>(streamId, null, 0, EventHashChain.GenesisHash, source, cancellationToken).ConfigureAwait(false)
            : await ApplyAsync(streamId, start.State, start.Version, start.EventHash, source, cancellationToken).ConfigureAwait(false);

        if (source is ReplaySource.FromCompatibleSnapshot or ReplaySource.FromBeginningAfterHandlerChange
            && _store.Context.Options.SnapshotAfterHandlerChange
            && result.State is not null)
        {
            // Rebuilt with new handler code: remember it so the next load starts here.
            await _store.Context.Snapshots.CreateAsync(streamId, result.State, result.Version, result.EventHash, _handlers.CurrentHashes<T>(), _store.GetReadPosition(streamId, result.Version), cancellationToken).ConfigureAwait(false);
        }

        StreamDingoTelemetry.LoadDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        activity?.SetTag("streamdingo.version", result.Version);
        activity?.SetTag("streamdingo.replay_source", source.ToString());
        Log.StateLoaded(_logger, streamId, typeof(T).Name, result.Version, source, result.SnapshotVersion, result.EventsApplied);
        return result;
    }

    /// <summary>Applies events to a state without writing them (used to validate an append before it is stored).</summary>
    internal T? Apply<T>(string streamId, T? state, long firstVersion, IReadOnlyList<IEvent> events)
        where T : class
    {
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i] ?? throw new ArgumentNullException(nameof(events), $"events[{i}] is null.");
            state = ApplyOne(streamId, state, firstVersion + i, _store.Context.Types.GetEvent(e).Name, e);
        }
        return state;
    }

    private async ValueTask<ReplayResult<T>> ApplyAsync<T>(string streamId, T? state, long snapshotVersion, string snapshotEventHash, ReplaySource source, CancellationToken cancellationToken)
        where T : class
    {
        var version = snapshotVersion;
        var previousHash = snapshotEventHash;
        long applied = 0;
        // From a snapshot, read its own last event too: its hash must be the snapshot's event hash, which ties the snapshot to these events.
        var readFrom = snapshotVersion == 0 ? 1 : snapshotVersion;
        var checkedSnapshotEvent = snapshotVersion == 0;
        await foreach (var envelope in _store.ReadEnvelopesAsync(streamId, readFrom, cancellationToken).ConfigureAwait(false))
        {
            if (!checkedSnapshotEvent)
            {
                _store.Verify(envelope, snapshotVersion, null);
                if (!string.Equals(envelope.Hash, snapshotEventHash, StringComparison.OrdinalIgnoreCase))
                {
                    StreamDingoTelemetry.IntegrityFailures.Add(1);
                    throw new SnapshotIntegrityException(streamId, snapshotVersion, $"its event hash {snapshotEventHash} is not the hash of the stream's event {snapshotVersion}, {envelope.Hash} (the snapshot was not built from these events)");
                }
                checkedSnapshotEvent = true;
                continue;
            }
            _store.Verify(envelope, version + 1, previousHash);
            version = envelope.Version;
            previousHash = envelope.Hash;
            applied++;
            if (_store.Deserialize(envelope) is { } e)
            {
                state = ApplyOne(streamId, state, envelope.Version, envelope.EventType, e);
            }
        }
        if (!checkedSnapshotEvent)
        {
            StreamDingoTelemetry.IntegrityFailures.Add(1);
            throw new SnapshotIntegrityException(streamId, snapshotVersion, $"the stream has fewer than {snapshotVersion} events");
        }
        StreamDingoTelemetry.EventsReplayed.Add(applied);
        return new ReplayResult<T>(streamId, state, version, previousHash, source, snapshotVersion, applied);
    }

    private T? ApplyOne<T>(string streamId, T? state, long version, string eventType, IEvent e)
        where T : class
    {
        if (!_handlers.TryGet(typeof(T), e.GetType(), out var handler))
        {
            return state; // this state type does not react to that event
        }
        try
        {
            return (T)handler.Apply(state, e);
        }
        catch (Exception inner) when (inner is not OperationCanceledException)
        {
            throw new EventHandlerException(handler.Name, eventType, streamId, version, inner);
        }
    }
}
