using System.Collections.Concurrent;

namespace StreamDingo;

/// <summary>The <see cref="IAggregateRepository"/> over an event store, the replay engine and the snapshot policy.</summary>
public sealed class AggregateRepository : IAggregateRepository
{
    private readonly EventStoreBase _store;
    private readonly EventReplayEngine _engine;
    private readonly HandlerRegistry _handlers;
    // The last state loaded or written per (stream, state type): a Loaded<TState>.
    private readonly ConcurrentDictionary<(string StreamId, Type State), object> _loaded = new();

    /// <summary>A repository.</summary>
    /// <param name="store">The event store.</param>
    /// <param name="engine">The replay engine over the same store.</param>
    /// <param name="handlers">The handlers.</param>
    public AggregateRepository(EventStoreBase store, EventReplayEngine engine, HandlerRegistry handlers)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(handlers);
        _store = store;
        _engine = engine;
        _handlers = handlers;
    }

    /// <inheritdoc />
    public async ValueTask<ReplayResult<TState>> LoadAsync<TState>(string streamId, CancellationToken cancellationToken = default)
        where TState : class => (await ReloadAsync<TState>(streamId, cancellationToken).ConfigureAwait(false)).Result;

    /// <inheritdoc />
    /// <remarks>
    /// The state this repository last loaded or wrote for the stream is kept
    /// (<see cref="StreamDingoOptions.AggregateCacheSize"/> streams): an append at that version
    /// applies the new events to it without replaying the stream. If another writer appended since,
    /// the store refuses the append (<see cref="ConcurrencyException"/>), the kept state is dropped,
    /// and the next call (or the retry of an append without expected version) loads the stream again.
    /// </remarks>
    public async ValueTask<ReplayResult<TState>> AppendAsync<TState>(string streamId, long expectedVersion, IReadOnlyList<IEvent> events, Guid? appendId = null, CancellationToken cancellationToken = default)
        where TState : class
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            throw new ArgumentException("At least one event is needed.", nameof(events));
        }
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i] is null)
            {
                throw new ArgumentNullException(nameof(events), $"events[{i}] is null.");
            }
        }
        var id = appendId ?? Guid.NewGuid();
        var attempts = expectedVersion == ExpectedVersion.Any ? _store.Context.Options.MaxAppendAttempts : 1;
        for (var attempt = 1; ; attempt++)
        {
            var loaded = Cached<TState>(streamId) is { } kept && (expectedVersion == ExpectedVersion.Any || kept.Result.Version == expectedVersion)
                ? kept
                : await ReloadAsync<TState>(streamId, cancellationToken).ConfigureAwait(false);
            var current = loaded.Result;
            var versionToExpect = expectedVersion == ExpectedVersion.Any ? current.Version : expectedVersion;
            TState? state;
            EventAppendResult appended;
            try
            {
                if (current.Version == versionToExpect)
                {
                    // The handlers run before anything is written: a throwing handler leaves the stream untouched.
                    state = _engine.Apply(streamId, current.State, current.Version + 1, events);
                    try
                    {
                        appended = await _store.AppendEventsAsync(streamId, versionToExpect, events, id, cancellationToken).ConfigureAwait(false);
                    }
                    catch (ConcurrencyException) when (attempt < attempts)
                    {
                        Forget(streamId, loaded);
                        continue;
                    }
                }
                else
                {
                    // Maybe a retry of an append already stored: the store recognises the id; otherwise a conflict.
                    appended = await _store.AppendEventsAsync(streamId, versionToExpect, events, id, cancellationToken).ConfigureAwait(false);
                    state = null;
                }
            }
            catch
            {
                // Whatever failed (a conflict, a handler), the next call starts from the stream, not from a state that may be stale.
                Forget(streamId, loaded);
                throw;
            }

            if (appended.Duplicate || state is null && current.Version != versionToExpect)
            {
                return (await ReloadAsync<TState>(streamId, cancellationToken).ConfigureAwait(false)).Result;
            }
            var result = new ReplayResult<TState>(streamId, state, appended.LastVersion, appended.LastHash, current.Source, current.SnapshotVersion, current.EventsApplied + events.Count);
            var lastSnapshotVersion = loaded.LastSnapshotVersion;
            if (state is not null && _store.Context.Options.SnapshotPolicy.ShouldSnapshot(appended.LastVersion, lastSnapshotVersion))
            {
                await _store.Context.Snapshots.CreateAsync(streamId, state, appended.LastVersion, appended.LastHash, _handlers.CurrentHashes<TState>(), _store.GetReadPosition(streamId, appended.LastVersion), cancellationToken).ConfigureAwait(false);
                lastSnapshotVersion = appended.LastVersion;
            }
            Keep(streamId, new Loaded<TState>(result, lastSnapshotVersion));
            return result;
        }
    }

    /// <inheritdoc />
    public async ValueTask<Snapshot<TState>> CreateSnapshotAsync<TState>(string streamId, CancellationToken cancellationToken = default)
        where TState : class
    {
        var current = await _engine.ReplayAsync<TState>(streamId, cancellationToken).ConfigureAwait(false);
        if (current.State is null)
        {
            throw new InvalidOperationException($"Stream '{streamId}' has no state of type {typeof(TState).Name} to snapshot (version {current.Version}).");
        }
        var snapshot = await _store.Context.Snapshots.CreateAsync(streamId, current.State, current.Version, current.EventHash, _handlers.CurrentHashes<TState>(), _store.GetReadPosition(streamId, current.Version), cancellationToken).ConfigureAwait(false);
        Keep(streamId, new Loaded<TState>(current, current.Version));
        return snapshot;
    }

    /// <summary>How many streams' states are kept (for tests).</summary>
    internal int CachedCount => _loaded.Count;

    private async ValueTask<Loaded<TState>> ReloadAsync<TState>(string streamId, CancellationToken cancellationToken)
        where TState : class
    {
        var result = await _engine.ReplayAsync<TState>(streamId, cancellationToken).ConfigureAwait(false);
        // After a rebuild with changed handlers the engine saved a snapshot at the loaded version.
        var rebuiltAndSnapshotted = result.State is not null && _store.Context.Options.SnapshotAfterHandlerChange
            && result.Source is ReplaySource.FromCompatibleSnapshot or ReplaySource.FromBeginningAfterHandlerChange;
        var loaded = new Loaded<TState>(result, rebuiltAndSnapshotted ? result.Version : result.SnapshotVersion);
        Keep(streamId, loaded);
        return loaded;
    }

    private Loaded<TState>? Cached<TState>(string streamId)
        where TState : class => _loaded.TryGetValue((streamId, typeof(TState)), out var kept) ? kept as Loaded<TState> : null;

    private void Keep<TState>(string streamId, Loaded<TState> loaded)
        where TState : class
    {
        var capacity = _store.Context.Options.AggregateCacheSize;
        if (capacity == 0)
        {
            return;
        }
        var key = (streamId, typeof(TState));
        if (_loaded.Count >= capacity && !_loaded.ContainsKey(key))
        {
            // Full: make room by dropping some other stream (it is only loaded again on its next append).
            foreach (var other in _loaded.Keys)
            {
                if (_loaded.TryRemove(other, out _))
                {
                    break;
                }
            }
        }
        // Never replace a newer state with an older one (appends of one process may finish out of order).
        _loaded.AddOrUpdate(key, loaded, (_, existing) => existing is Loaded<TState> e && e.Result.Version > loaded.Result.Version ? existing : loaded);
    }

    private void Forget<TState>(string streamId, Loaded<TState> used)
        where TState : class =>
        // Only the entry this call used: a concurrent append may already have kept a newer one.
        _loaded.TryRemove(new KeyValuePair<(string, Type), object>((streamId, typeof(TState)), used));

    private sealed record Loaded<TState>(ReplayResult<TState> Result, long LastSnapshotVersion)
        where TState : class;
}
