namespace StreamDingo;

/// <summary>The everyday entry point: load a stream's state, append events to it (validated by the handlers first), snapshot it.</summary>
public interface IAggregateRepository
{
    /// <summary>Loads the state through the replay flow (<see cref="IEventReplayEngine.ReplayAsync{T}"/>).</summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The state (null when nothing happened yet), its version and how it was rebuilt.</returns>
    ValueTask<ReplayResult<TState>> LoadAsync<TState>(string streamId, CancellationToken cancellationToken = default) where TState : class;

    /// <summary>
    /// Appends events if the stream is at <paramref name="expectedVersion"/>: loads the state, applies
    /// the events through the handlers (a handler that throws stops the append: nothing is written),
    /// stores them, then takes a snapshot when the policy says so.
    /// </summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="expectedVersion">The version the caller saw (<see cref="ExpectedVersion.NoStream"/> for a new stream, <see cref="ExpectedVersion.Any"/>: no check).</param>
    /// <param name="events">The events.</param>
    /// <param name="appendId">The same id when retrying an append, so that it is stored once.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The state after the events.</returns>
    /// <exception cref="ConcurrencyException">The stream is not at <paramref name="expectedVersion"/>.</exception>
    /// <exception cref="EventHandlerException">A handler threw on one of the new events.</exception>
    ValueTask<ReplayResult<TState>> AppendAsync<TState>(string streamId, long expectedVersion, IReadOnlyList<IEvent> events, Guid? appendId = null, CancellationToken cancellationToken = default) where TState : class;

    /// <summary>Takes a snapshot of the current state now (the on-demand policy).</summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored snapshot.</returns>
    /// <exception cref="InvalidOperationException">The stream has no state yet.</exception>
    ValueTask<Snapshot<TState>> CreateSnapshotAsync<TState>(string streamId, CancellationToken cancellationToken = default) where TState : class;
}
