namespace StreamDingo;

/// <summary>The <see cref="IAggregateRepository"/> over an event store, the replay engine and the snapshot policy.</summary>
public sealed class AggregateRepository : IAggregateRepository
{
    private readonly EventStoreBase _store;
    private readonly EventReplayEngine _engine;
    private readonly HandlerRegistry _handlers;

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
    public ValueTask<ReplayResult<TState>> LoadAsync<TState>(string streamId, CancellationToken cancellationToken = default)
        where TState : class => _engine.ReplayAsync<TState>(streamId, cancellationToken);

    /// <inheritdoc />
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
            var current = await _engine.ReplayAsync<TState>(streamId, cancellationToken).ConfigureAwait(false);
            var versionToExpect = expectedVersion == ExpectedVersion.Any ? current.Version : expectedVersion;
            TState? state;
            EventAppendResult appended;
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
                    continue;
                }
            }
            else
            {
                // Maybe a retry of an append already stored: the store recognises the id; otherwise a conflict.
                appended = await _store.AppendEventsAsync(streamId, versionToExpect, events, id, cancellationToken).ConfigureAwait(false);
                state = null;
            }

            if (appended.Duplicate || state is null && current.Version != versionToExpect)
            {
                return await _engine.ReplayAsync<TState>(streamId, cancellationToken).ConfigureAwait(false);
            }
            var result = new ReplayResult<TState>(streamId, state, appended.LastVersion, appended.LastHash, current.Source, current.SnapshotVersion, current.EventsApplied + events.Count);
            var rebuiltAndSnapshotted = current.State is not null && _store.Context.Options.SnapshotAfterHandlerChange
                && current.Source is ReplaySource.FromCompatibleSnapshot or ReplaySource.FromBeginningAfterHandlerChange;
            var lastSnapshotVersion = rebuiltAndSnapshotted ? current.Version : current.SnapshotVersion;
            if (state is not null && _store.Context.Options.SnapshotPolicy.ShouldSnapshot(appended.LastVersion, lastSnapshotVersion))
            {
                await _store.Context.Snapshots.CreateAsync(streamId, state, appended.LastVersion, appended.LastHash, _handlers.CurrentHashes<TState>(), _store.GetReadPosition(streamId, appended.LastVersion), cancellationToken).ConfigureAwait(false);
            }
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
        return await _store.Context.Snapshots.CreateAsync(streamId, current.State, current.Version, current.EventHash, _handlers.CurrentHashes<TState>(), _store.GetReadPosition(streamId, current.Version), cancellationToken).ConfigureAwait(false);
    }
}
