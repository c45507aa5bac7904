namespace StreamDingo;

/// <summary>A snapshot as stores keep it: the state as serialized bytes, so its hash can be checked before it is deserialized.</summary>
/// <param name="StreamId">The stream.</param>
/// <param name="StateType">The registered state type name.</param>
/// <param name="Version">The version of the last event folded into the state.</param>
/// <param name="State">The state as UTF-8 JSON.</param>
/// <param name="Hash">The hash of <paramref name="State"/> (lowercase hexadecimal).</param>
/// <param name="CreatedAt">When the snapshot was taken (UTC).</param>
/// <param name="HandlerHashes">The handler hashes the state was built with, by handler name.</param>
/// <param name="EventHash">The chain hash of the event at <paramref name="Version"/>.</param>
public sealed record SnapshotRecord(
    string StreamId,
    string StateType,
    long Version,
    ReadOnlyMemory<byte> State,
    string Hash,
    DateTime CreatedAt,
    IReadOnlyDictionary<string, string> HandlerHashes,
    string EventHash)
{
    /// <summary>The event store's position from which the event at <see cref="Version"/> can be read (<see cref="Snapshot{T}.ReadPosition"/>); null when unknown, as in snapshots stored before positions were recorded.</summary>
    public string? ReadPosition { get; init; }
}
