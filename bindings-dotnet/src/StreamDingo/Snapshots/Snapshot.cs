namespace StreamDingo;

/// <summary>The state of a stream after a given version, with what it takes to trust and reuse it.</summary>
/// <typeparam name="T">The state type.</typeparam>
public class Snapshot<T> where T : class
{
    /// <summary>The stream the state belongs to.</summary>
    public required string StreamId { get; init; }

    /// <summary>The version of the last event folded into <see cref="State"/>.</summary>
    public required long Version { get; init; }

    /// <summary>The state.</summary>
    public required T State { get; init; }

    /// <summary>The SHA-256 (lowercase hexadecimal, through the configured <see cref="IHashProvider"/>) of the serialized state: a stored snapshot whose state does not hash to this is rejected.</summary>
    public string Hash { get; init; } = string.Empty;

    /// <summary>When the snapshot was taken (UTC).</summary>
    public DateTime CreatedAt { get; init; }

    /// <summary>The source hash of each handler of <typeparamref name="T"/> that built the state, by handler name: when a handler's current hash differs, the snapshot is stale.</summary>
    public Dictionary<string, string> HandlerHashes { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The chain hash of the event at <see cref="Version"/>: ties the snapshot to the exact events it was built from (the next event's previous hash must equal it).</summary>
    public string EventHash { get; init; } = string.Empty;

    /// <summary>
    /// Where the event store can start reading to reach the event at <see cref="Version"/> (opaque,
    /// written by the store that holds the events, so that a process that never read the stream does
    /// not read it from the beginning); null when the store has none to give (reads start at the
    /// beginning). Only a hint: a position that does not lead to the expected events is not used.
    /// </summary>
    public string? ReadPosition { get; init; }
}
