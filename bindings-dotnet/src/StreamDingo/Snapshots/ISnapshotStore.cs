namespace StreamDingo;

/// <summary>Stores snapshots. Verification is not the store's job: <see cref="SnapshotManager"/> checks every record it loads.</summary>
public interface ISnapshotStore
{
    /// <summary>Stores a snapshot.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when it is stored.</returns>
    ValueTask SaveAsync(SnapshotRecord snapshot, CancellationToken cancellationToken = default);

    /// <summary>The snapshots of a stream for one state type, newest (highest version, then latest taken) first.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="stateType">The registered state type name.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The snapshots, newest first.</returns>
    IAsyncEnumerable<SnapshotRecord> ReadNewestFirstAsync(string streamId, string stateType, CancellationToken cancellationToken = default);
}
