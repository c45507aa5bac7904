namespace StreamDingo;

/// <summary>
/// Where events and snapshots live. Every store guarantees: appends are atomic (all events of one
/// call or none), an expected version that is not the stream's current version fails with
/// <see cref="ConcurrencyException"/> and writes nothing, and a retried append (same append id)
/// is stored once. Each store documents the conditions of that guarantee.
/// </summary>
public interface IEventStore
{
    /// <summary>Appends one event after whatever the stream holds (no expected version; retries a lost race).</summary>
    /// <typeparam name="T">The event type (registered).</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="event">The event.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>A task that completes when the event is stored.</returns>
    ValueTask AppendEventAsync<T>(string streamId, T @event, CancellationToken cancellationToken = default)
        where T : IEvent;

    /// <summary>Appends events atomically if the stream is at <paramref name="expectedVersion"/>.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="expectedVersion">The stream's version the caller saw (0: no events; <see cref="ExpectedVersion.Any"/>: no check).</param>
    /// <param name="events">The events, in order (at least one).</param>
    /// <param name="appendId">An id for this append; pass the same id when retrying it so that it is stored once. A new id when null.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns>The versions written, or the earlier result when the append was a retry of a stored one.</returns>
    /// <exception cref="ConcurrencyException">The stream is not at <paramref name="expectedVersion"/>; nothing was written.</exception>
    ValueTask<EventAppendResult> AppendEventsAsync(string streamId, long expectedVersion, IReadOnlyList<IEvent> events, Guid? appendId = null, CancellationToken cancellationToken = default);

    /// <summary>Reads a stream's events, verifying the hash chain.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="fromVersion">The first version to return (versions start at 1; 0 reads everything).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The events in order.</returns>
    /// <exception cref="EventIntegrityException">A stored event does not match its hash chain.</exception>
    /// <exception cref="UnknownEventTypeException">An event's type is not registered (with <see cref="UnknownEventTypeHandling.Fail"/>).</exception>
    IAsyncEnumerable<IEvent> ReadEventsAsync(string streamId, long fromVersion = 0, CancellationToken cancellationToken = default);

    /// <summary>Reads a stream's stored envelopes (metadata and raw data) from a version, without deserializing or verifying them.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="fromVersion">The first version to return (0 or 1: everything).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The envelopes in order.</returns>
    IAsyncEnumerable<EventEnvelope> ReadEnvelopesAsync(string streamId, long fromVersion = 0, CancellationToken cancellationToken = default);

    /// <summary>The stream's current version (0 when it has no events).</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The version of the stream's last event.</returns>
    ValueTask<long> GetVersionAsync(string streamId, CancellationToken cancellationToken = default);

    /// <summary>The newest snapshot of the stream for state type <typeparamref name="T"/>, verified; null when there is none.</summary>
    /// <typeparam name="T">The state type (registered).</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The snapshot, or null.</returns>
    /// <exception cref="SnapshotIntegrityException">The stored state does not match its hash.</exception>
    ValueTask<Snapshot<T>?> GetLatestSnapshotAsync<T>(string streamId, CancellationToken cancellationToken = default) where T : class;

    /// <summary>Stores a snapshot (its hash is computed from the state when <see cref="Snapshot{T}.Hash"/> is empty).</summary>
    /// <typeparam name="T">The state type (registered).</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the snapshot is stored.</returns>
    ValueTask SaveSnapshotAsync<T>(string streamId, Snapshot<T> snapshot, CancellationToken cancellationToken = default) where T : class;
}
