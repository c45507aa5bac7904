namespace S2.StreamStore;

/// <summary>Records read in order, and the stream's tail when the server reported it.</summary>
/// <param name="Records">The records (possibly none).</param>
/// <param name="Tail">The tail, when the server reported it with this batch.</param>
public sealed record ReadBatch(IReadOnlyList<Record> Records, StreamPosition? Tail);
