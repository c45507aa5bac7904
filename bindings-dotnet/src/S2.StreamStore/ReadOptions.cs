namespace S2.StreamStore;

/// <summary>Where a read starts.</summary>
public readonly record struct ReadStart
{
    private ReadStart(ReadStartKind kind, ulong value)
    {
        Kind = kind;
        Value = value;
    }

    /// <summary>How <see cref="Value"/> is read.</summary>
    public ReadStartKind Kind { get; }

    /// <summary>A sequence number, a timestamp in milliseconds, or a count of records before the tail.</summary>
    public ulong Value { get; }

    /// <summary>At sequence number <paramref name="sequenceNumber"/>.</summary>
    /// <param name="sequenceNumber">The sequence number.</param>
    public static ReadStart FromSequence(ulong sequenceNumber) => new(ReadStartKind.SequenceNumber, sequenceNumber);

    /// <summary>At the first record with a timestamp at or after <paramref name="timestampMs"/>.</summary>
    /// <param name="timestampMs">Milliseconds since the Unix epoch.</param>
    public static ReadStart FromTimestamp(ulong timestampMs) => new(ReadStartKind.Timestamp, timestampMs);

    /// <summary>At the first record at or after <paramref name="time"/>.</summary>
    /// <param name="time">The time.</param>
    public static ReadStart FromTimestamp(DateTimeOffset time) =>
        new(ReadStartKind.Timestamp, checked((ulong)time.ToUnixTimeMilliseconds()));

    /// <summary><paramref name="offset"/> records before the tail (0: only new records).</summary>
    /// <param name="offset">How many records before the tail.</param>
    public static ReadStart FromTail(ulong offset = 0) => new(ReadStartKind.TailOffset, offset);
}

/// <summary>The kinds of <see cref="ReadStart"/>, with the values of <c>S2ReadStartKind</c>.</summary>
public enum ReadStartKind
{
    /// <summary>A sequence number.</summary>
    SequenceNumber = 0,

    /// <summary>A timestamp in milliseconds.</summary>
    Timestamp = 1,

    /// <summary>Records before the tail.</summary>
    TailOffset = 2,
}

/// <summary>What a unary read (<see cref="S2Stream.ReadAsync"/>) returns.</summary>
public class ReadOptions
{
    /// <summary>Where to start (default: sequence number 0).</summary>
    public ReadStart Start { get; set; } = ReadStart.FromSequence(0);

    /// <summary>At most this many records (null: no limit of the caller's; a unary read returns at most 1000).</summary>
    public ulong? Count { get; set; }

    /// <summary>At most this many metered bytes (null: no limit; a unary read returns at most 1 MiB).</summary>
    public ulong? Bytes { get; set; }

    /// <summary>Stop before the first record with a timestamp at or after this one (ms).</summary>
    public ulong? Until { get; set; }

    /// <summary>Start at the tail instead of failing with <see cref="ReadUnwrittenException"/> when the start is past it.</summary>
    public bool Clamp { get; set; }

    /// <summary>How long to wait for new records at the tail (null: the default: a unary read 0, a session forever; at most 60 s for a unary read).</summary>
    public TimeSpan? Wait { get; set; }

    /// <summary>Leave out command records (fence, trim).</summary>
    public bool IgnoreCommandRecords { get; set; }
}

/// <summary>What a read session (<see cref="S2Stream.OpenReadSessionAsync"/>) reads; without a count, byte or time limit it follows the tail forever.</summary>
public sealed class ReadSessionOptions : ReadOptions
{
    /// <summary>Retry transient failures without a budget (the session survives a server restart and resumes at the next sequence number). Default true.</summary>
    public bool RetryForever { get; set; } = true;
}
