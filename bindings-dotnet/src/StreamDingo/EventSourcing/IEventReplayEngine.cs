namespace StreamDingo;

/// <summary>Rebuilds state from events, verifying every event and snapshot on the way.</summary>
public interface IEventReplayEngine
{
    /// <summary>Replays every event of the stream from the beginning through the current handlers.</summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">Cancels the replay.</param>
    /// <returns>The state after the last event.</returns>
    /// <exception cref="InvalidOperationException">No event of the stream is handled for <typeparamref name="T"/> (there is no state).</exception>
    ValueTask<T> ReplayEventsAsync<T>(string streamId, CancellationToken cancellationToken = default) where T : class;

    /// <summary>Applies the events after <paramref name="snapshot"/> to its state, after checking the snapshot's hash and that it fits the stream's events.</summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="snapshot">The snapshot to start from.</param>
    /// <param name="cancellationToken">Cancels the replay.</param>
    /// <returns>The state after the last event.</returns>
    /// <exception cref="SnapshotIntegrityException">The snapshot's state does not match its hash, or it does not fit the stream.</exception>
    ValueTask<T> ReplayFromSnapshotAsync<T>(string streamId, Snapshot<T> snapshot, CancellationToken cancellationToken = default) where T : class;

    /// <summary>
    /// The full replay flow: the newest snapshot when it was built by the current handlers; else the
    /// newest snapshot that was (up to <see cref="StreamDingoOptions.MaxSnapshotsExamined"/>); else
    /// every event from the beginning. Then the events after it.
    /// </summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">Cancels the replay.</param>
    /// <returns>The state, its version and the branch taken.</returns>
    ValueTask<ReplayResult<T>> ReplayAsync<T>(string streamId, CancellationToken cancellationToken = default) where T : class;
}
