namespace S2.StreamStore;

/// <summary>A position in a stream: a record's sequence number (or the next one, for a tail) and its timestamp.</summary>
/// <param name="SequenceNumber">The sequence number.</param>
/// <param name="Timestamp">The timestamp in milliseconds since the Unix epoch.</param>
public readonly record struct StreamPosition(ulong SequenceNumber, ulong Timestamp)
{
    /// <summary>The timestamp as a <see cref="DateTimeOffset"/>.</summary>
    public DateTimeOffset Time => DateTimeOffset.FromUnixTimeMilliseconds(checked((long)Timestamp));
}
