using System.Buffers;
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

    // Envelopes are folded in batches: the content hashes of a batch (the costly part of verification,
    // independent per event) are computed on several cores, then each event is checked in order
    // (version, link, that content result) and applied, so failures are reported exactly as one by one.
    private const int FoldBatchSize = 1024;
    private const int ParallelCheckMinimum = 256;

    private async ValueTask<ReplayResult<T>> ApplyAsync<T>(string streamId, T? state, long snapshotVersion, string snapshotEventHash, ReplaySource source, CancellationToken cancellationToken)
        where T : class
    {
        var fold = new Fold<T>(state, snapshotVersion, snapshotEventHash);
        // From a snapshot, read its own last event too: its hash must be the snapshot's event hash, which ties the snapshot to these events.
        var readFrom = snapshotVersion == 0 ? 1 : snapshotVersion;
        var batch = ArrayPool<EventEnvelope>.Shared.Rent(FoldBatchSize);
        var failures = ArrayPool<EventIntegrityException?>.Shared.Rent(FoldBatchSize);
        try
        {
            var count = 0;
            await foreach (var envelope in _store.ReadEnvelopesAsync(streamId, readFrom, cancellationToken).ConfigureAwait(false))
            {
                batch[count++] = envelope;
                if (count == FoldBatchSize)
                {
                    ApplyBatch(streamId, fold, batch, failures, count, snapshotVersion, snapshotEventHash);
                    count = 0;
                }
            }
            ApplyBatch(streamId, fold, batch, failures, count, snapshotVersion, snapshotEventHash);
        }
        finally
        {
            ArrayPool<EventEnvelope>.Shared.Return(batch, clearArray: true);
            ArrayPool<EventIntegrityException?>.Shared.Return(failures, clearArray: true);
        }
        if (!fold.CheckedSnapshotEvent)
        {
            StreamDingoTelemetry.IntegrityFailures.Add(1);
            throw new SnapshotIntegrityException(streamId, snapshotVersion, $"the stream has fewer than {snapshotVersion} events");
        }
        StreamDingoTelemetry.EventsReplayed.Add(fold.Applied);
        return new ReplayResult<T>(streamId, fold.State, fold.Version, fold.PreviousHash, source, snapshotVersion, fold.Applied);
    }

    private void ApplyBatch<T>(string streamId, Fold<T> fold, EventEnvelope[] batch, EventIntegrityException?[] failures, int count, long snapshotVersion, string snapshotEventHash)
        where T : class
    {
        if (count == 0)
        {
            return;
        }
        CheckContents(batch, failures, count);
        for (var i = 0; i < count; i++)
        {
            var envelope = batch[i];
            batch[i] = null!; // let the batch's envelopes go as they are applied
            if (!fold.CheckedSnapshotEvent)
            {
                _store.Verify(envelope, snapshotVersion, null, failures[i]);
                if (!string.Equals(envelope.Hash, snapshotEventHash, StringComparison.OrdinalIgnoreCase))
                {
                    StreamDingoTelemetry.IntegrityFailures.Add(1);
                    throw new SnapshotIntegrityException(streamId, snapshotVersion, $"its event hash {snapshotEventHash} is not the hash of the stream's event {snapshotVersion}, {envelope.Hash} (the snapshot was not built from these events)");
                }
                fold.CheckedSnapshotEvent = true;
                continue;
            }
            _store.Verify(envelope, fold.Version + 1, fold.PreviousHash, failures[i]);
            fold.Version = envelope.Version;
            fold.PreviousHash = envelope.Hash;
            fold.Applied++;
            if (_store.Deserialize(envelope) is { } e)
            {
                fold.State = ApplyOne(streamId, fold.State, envelope.Version, envelope.EventType, e);
            }
        }
    }

    private void CheckContents(EventEnvelope[] batch, EventIntegrityException?[] failures, int count)
    {
        var verifier = _store.Context.Verifier;
        // Several small parts per core: a part whose thread is descheduled (a busy machine) holds up little, others take the rest.
        var parts = Math.Min(Environment.ProcessorCount * 4, 16);
        if (count < ParallelCheckMinimum || Environment.ProcessorCount < 2 || !_store.Context.Options.ParallelReplay)
        {
            verifier.CheckContents(batch.AsSpan(0, count), failures.AsSpan(0, count));
            return;
        }
        Parallel.For(0, parts, part =>
        {
            var start = (int)((long)count * part / parts);
            var end = (int)((long)count * (part + 1) / parts);
            verifier.CheckContents(batch.AsSpan(start, end - start), failures.AsSpan(start, end - start));
        });
    }

    private sealed class Fold<T>(T? state, long version, string previousHash)
        where T : class
    {
        public T? State { get; set; } = state;

        public long Version { get; set; } = version;

        public string PreviousHash { get; set; } = previousHash;

        public long Applied { get; set; }

        // Reading from a snapshot, its own event comes first and is checked, not applied.
        public bool CheckedSnapshotEvent { get; set; } = version == 0;
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
