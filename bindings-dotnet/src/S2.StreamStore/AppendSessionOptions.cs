namespace S2.StreamStore;

/// <summary>Options of <see cref="S2Stream.OpenAppendSessionAsync"/>.</summary>
public sealed class AppendSessionOptions
{
    /// <summary>Unacknowledged bytes allowed in flight (at least 1 MiB; null: 5 MiB); submissions wait for room beyond it.</summary>
    public int? MaxUnackedBytes { get; set; }

    /// <summary>Unacknowledged batches allowed in flight (null: no limit).</summary>
    public int? MaxUnackedBatches { get; set; }

    /// <summary>Submissions that may wait for the session's room at once (default 1000): beyond it <c>TrySubmit</c> returns false and the async forms wait.</summary>
    public int MaxQueuedSubmissions { get; set; } = 1000;
}

/// <summary>Options of <see cref="S2Stream.OpenProducerAsync"/>.</summary>
public sealed class ProducerOptions
{
    /// <summary>Unacknowledged bytes allowed in flight (at least 1 MiB; null: 5 MiB).</summary>
    public int? MaxUnackedBytes { get; set; }

    /// <summary>How long a partial batch waits for more records (null: 5 ms).</summary>
    public TimeSpan? Linger { get; set; }

    /// <summary>Records per batch (1-1000; null: 1000).</summary>
    public int? MaxBatchRecords { get; set; }

    /// <summary>Metered bytes per batch (8 B - 1 MiB; null: 1 MiB).</summary>
    public int? MaxBatchBytes { get; set; }

    /// <summary>Every batch carries this fencing token.</summary>
    public string? FencingToken { get; set; }

    /// <summary>The first batch must land at this sequence number and later ones follow on (a batch already stored is refused, never stored twice).</summary>
    public ulong? MatchSeqNum { get; set; }

    /// <summary>Submissions that may wait for the producer's room at once (default 1000).</summary>
    public int MaxQueuedSubmissions { get; set; } = 1000;
}
