namespace StreamDingo;

/// <summary>A state rebuilt from a stream, and how.</summary>
/// <typeparam name="TState">The state type.</typeparam>
/// <param name="StreamId">The stream.</param>
/// <param name="State">The state; null when no event of the stream was handled.</param>
/// <param name="Version">The version of the last event read.</param>
/// <param name="EventHash">The chain hash of the event at <paramref name="Version"/> (<see cref="EventHashChain.GenesisHash"/> at version 0).</param>
/// <param name="Source">The branch of the replay flow taken.</param>
/// <param name="SnapshotVersion">The version of the snapshot replay started from (0: none).</param>
/// <param name="EventsApplied">How many events were read after the snapshot (or from the beginning).</param>
public sealed record ReplayResult<TState>(string StreamId, TState? State, long Version, string EventHash, ReplaySource Source, long SnapshotVersion, long EventsApplied)
    where TState : class;
