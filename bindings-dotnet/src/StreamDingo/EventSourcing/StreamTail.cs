namespace StreamDingo;

/// <summary>Where a stream ends: its last version and that event's chain hash.</summary>
/// <param name="Version">The stream's version (0: no events).</param>
/// <param name="Hash">The last event's chain hash (<see cref="EventHashChain.GenesisHash"/> at version 0).</param>
public readonly record struct StreamTail(long Version, string Hash)
{
    /// <summary>The tail of a stream without events.</summary>
    public static StreamTail Empty { get; } = new(0, EventHashChain.GenesisHash);
}
