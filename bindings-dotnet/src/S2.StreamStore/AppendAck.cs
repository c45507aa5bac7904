namespace S2.StreamStore;

/// <summary>The positions of an acknowledged append.</summary>
/// <param name="Start">The first record's position.</param>
/// <param name="End">One past the last record (<c>End.SequenceNumber - Start.SequenceNumber</c> records).</param>
/// <param name="Tail">The stream's tail when the append was acknowledged.</param>
public sealed record AppendAck(StreamPosition Start, StreamPosition End, StreamPosition Tail)
{
    /// <summary>The number of records appended.</summary>
    public ulong Count => End.SequenceNumber - Start.SequenceNumber;
}
