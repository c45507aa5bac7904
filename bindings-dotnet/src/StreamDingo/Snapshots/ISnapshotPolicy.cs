namespace StreamDingo;

/// <summary>Decides after an append whether to take a snapshot.</summary>
public interface ISnapshotPolicy
{
    /// <summary>Whether to snapshot now.</summary>
    /// <param name="version">The stream's version after the append.</param>
    /// <param name="lastSnapshotVersion">The version of the snapshot the state was loaded from (0: none).</param>
    /// <returns>True to take a snapshot.</returns>
    bool ShouldSnapshot(long version, long lastSnapshotVersion);
}
