namespace StreamDingo;

/// <summary>What a store's conditional write did.</summary>
/// <param name="Written">True when the envelopes were stored.</param>
/// <param name="ActualVersion">When not written: the stream's version the store found (another writer got there first).</param>
public readonly record struct WriteOutcome(bool Written, long ActualVersion)
{
    /// <summary>The envelopes were stored.</summary>
    public static WriteOutcome Success { get; } = new(true, 0);

    /// <summary>Not written: the stream is at <paramref name="actualVersion"/>.</summary>
    /// <param name="actualVersion">The stream's version.</param>
    /// <returns>The outcome.</returns>
    public static WriteOutcome Conflict(long actualVersion) => new(false, actualVersion);
}
