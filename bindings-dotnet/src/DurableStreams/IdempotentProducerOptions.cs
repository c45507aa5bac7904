namespace DurableStreams;

/// <summary>How an <see cref="IdempotentProducer"/> batches, pipelines, buffers and retries.</summary>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public class IdempotentProducerOptions
{
    /// <summary>The largest epoch the protocol allows (2^53 - 1).</summary>
    public const long MaxEpoch = (1L << 53) - 1;

    /// <summary>The epoch to start at (default 0). Increment it when a new instance of the producer takes over.</summary>
    public long Epoch { get; set; }

    /// <summary>
    /// On a stale epoch (403), take the server's epoch + 1 and resend instead of failing. Use only
    /// when no two live instances share the producer id (ephemeral/serverless producers).
    /// </summary>
    public bool AutoClaim { get; set; }

    /// <summary>A batch is sent once its payload reaches this many bytes (default 1 MiB). A larger single message is sent alone.</summary>
    public int MaxBatchBytes { get; set; } = 1024 * 1024;

    /// <summary>A batch is sent once it holds this many messages (default: unlimited).</summary>
    public int? MaxBatchItems { get; set; }

    /// <summary>How long the first message of a batch may wait for company before the batch is sent (default 5 ms).</summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Batches sent concurrently (default 1). Order is preserved whatever the value. Concurrent
    /// requests of one producer often reach the server out of order, and each overtaking batch
    /// is refused and uploaded again; raise it for high-latency links only.
    /// </summary>
    public int MaxInFlight { get; set; } = 1;

    /// <summary>Messages appended but not yet acknowledged, at most (default 1,000,000); beyond it <see cref="IdempotentProducer.TryAppend(ReadOnlyMemory{byte})"/> returns false.</summary>
    public int MaxBufferedMessages { get; set; } = 1_000_000;

    /// <summary>Payload bytes appended but not yet acknowledged, at most (default 64 MiB).</summary>
    public long MaxBufferedBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// How long <see cref="IdempotentProducer.Append(ReadOnlyMemory{byte})"/> blocks the calling
    /// thread when the buffer is full (<see cref="MaxBufferedMessages"/> or <see cref="MaxBufferedBytes"/>
    /// reached: the server acknowledges more slowly than messages arrive) before it throws a
    /// <see cref="DurableStreamException"/> with <see cref="DurableStreamErrorCode.BufferFull"/>
    /// (default 5 s, like Confluent.Kafka's bounded wait). <see cref="TimeSpan.Zero"/>: never block,
    /// throw at once; <see cref="Timeout.InfiniteTimeSpan"/>: block until there is room.
    /// <see cref="IdempotentProducer.AppendAsync(ReadOnlyMemory{byte}, CancellationToken)"/> does not
    /// use it: it awaits room until its token is cancelled.
    /// </summary>
    public TimeSpan BufferFullTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a batch is retried after transient failures before the producer gives up (default 120 s).</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>The stream's content type; by default the stream handle's, or learned with one <c>HEAD</c>.</summary>
    public string? ContentType { get; set; }

    /// <summary>
    /// How long <see cref="IdempotentProducer.DisposeAsync"/> waits for the buffered messages to be
    /// delivered (flush, then detach) before it gives up, releases the producer and reports the
    /// messages whose delivery was not confirmed in ONE <see cref="IdempotentProducer.OnError"/>
    /// event (and one log entry). Zero: do not wait; <see cref="Timeout.InfiniteTimeSpan"/>: wait
    /// as long as delivery takes (up to <see cref="DeliveryTimeout"/>). Default 5 s.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Every option as text (all are plain values, none secret).</summary>
    /// <returns>A description of the options.</returns>
    public override string ToString() => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"IdempotentProducerOptions {{ Epoch = {Epoch}, AutoClaim = {AutoClaim}, MaxBatchBytes = {MaxBatchBytes}, MaxBatchItems = {(MaxBatchItems is { } items ? items.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unlimited")}, Linger = {Linger}, MaxInFlight = {MaxInFlight}, "
        + $"MaxBufferedMessages = {MaxBufferedMessages}, MaxBufferedBytes = {MaxBufferedBytes}, BufferFullTimeout = {BufferFullTimeout}, DeliveryTimeout = {DeliveryTimeout}, ContentType = {ContentType ?? "(the stream's)"}, ShutdownTimeout = {ShutdownTimeout} }}");

    /// <summary>A copy (every option is a plain value).</summary>
    internal IdempotentProducerOptions Copy() => (IdempotentProducerOptions)MemberwiseClone();

    internal void Validate()
    {
        if (Epoch is < 0 or > MaxEpoch)
        {
            throw new ArgumentOutOfRangeException(nameof(Epoch), Epoch, "Epoch must be between 0 and 2^53-1.");
        }
        RequirePositive(MaxBatchBytes, nameof(MaxBatchBytes));
        if (MaxBatchItems is { } items)
        {
            RequirePositive(items, nameof(MaxBatchItems));
        }
        RequirePositive(MaxInFlight, nameof(MaxInFlight));
        RequirePositive(MaxBufferedMessages, nameof(MaxBufferedMessages));
        RequirePositive(MaxBufferedBytes, nameof(MaxBufferedBytes));
        if (Linger < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Linger), Linger, "Linger cannot be negative.");
        }
        if (DeliveryTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(DeliveryTimeout), DeliveryTimeout, "DeliveryTimeout must be greater than zero.");
        }
        if (ContentType is not null && string.IsNullOrWhiteSpace(ContentType))
        {
            throw new ArgumentException("ContentType cannot be empty.", nameof(ContentType));
        }
        Interop.NativeString.ThrowIfNul(ContentType, nameof(ContentType));
        if (BufferFullTimeout < TimeSpan.Zero && BufferFullTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(BufferFullTimeout), BufferFullTimeout, "BufferFullTimeout cannot be negative (use Timeout.InfiniteTimeSpan to wait until there is room).");
        }
        if (BufferFullTimeout != Timeout.InfiniteTimeSpan && BufferFullTimeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(BufferFullTimeout), BufferFullTimeout, "BufferFullTimeout must be at most int.MaxValue milliseconds (about 24.8 days) or Timeout.InfiniteTimeSpan.");
        }
        if (ShutdownTimeout < TimeSpan.Zero && ShutdownTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(ShutdownTimeout), ShutdownTimeout, "ShutdownTimeout cannot be negative (use Timeout.InfiniteTimeSpan to wait as long as delivery takes).");
        }
        if (ShutdownTimeout != Timeout.InfiniteTimeSpan && ShutdownTimeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(ShutdownTimeout), ShutdownTimeout, "ShutdownTimeout must be at most int.MaxValue milliseconds (about 24.8 days) or Timeout.InfiniteTimeSpan.");
        }
    }

    private static void RequirePositive(long value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
        }
    }
}

/// <summary>An error of an <see cref="IdempotentProducer"/>'s background delivery (<see cref="IdempotentProducer.OnError"/>).</summary>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public class ProducerErrorEventArgs : EventArgs
{
    /// <summary>Event data to be filled with an object initializer (all members are required).</summary>
    public ProducerErrorEventArgs()
    {
    }

    /// <summary>Creates the event data.</summary>
    /// <param name="exception">What went wrong.</param>
    /// <param name="epoch">The epoch the affected batches were sent under.</param>
    /// <param name="firstSeq">The first affected batch sequence number, if any was sent.</param>
    /// <param name="lastSeq">The last affected batch sequence number, if any was sent.</param>
    /// <param name="messageCount">How many messages were not written.</param>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public ProducerErrorEventArgs(Exception exception, long epoch, long? firstSeq, long? lastSeq, long messageCount)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Exception = exception;
        Epoch = epoch;
        SequenceRange = (firstSeq ?? -1, lastSeq ?? firstSeq ?? -1);
        MessageCount = (int)Math.Clamp(messageCount, 0, int.MaxValue);
        IsRetryable = IsTransient(exception);
    }

    /// <summary>
    /// What went wrong, e.g. <see cref="StaleEpochException"/> when another instance claimed a
    /// newer epoch (fencing), or a <see cref="DurableStreamException"/> after retries were exhausted.
    /// </summary>
    public required Exception Exception { get; init; }

    /// <summary>The epoch the affected batches were sent under (64-bit in this package).</summary>
    public required long Epoch { get; init; }

    /// <summary>
    /// Whether the failure was transient (network error, timeout, HTTP 429 or 5xx): the producer
    /// already retried it as configured, but sending the same messages again later may succeed.
    /// False for failures a retry cannot fix (a stale epoch, a closed stream, a rejected request).
    /// </summary>
    public required bool IsRetryable { get; init; }

    /// <summary>How many messages were not written.</summary>
    public required int MessageCount { get; init; }

    /// <summary>
    /// The first and last sequence numbers of the affected batches (64-bit in this package);
    /// <c>(-1, -1)</c> when none was sent.
    /// </summary>
    public required (long First, long Last) SequenceRange { get; init; }

    /// <summary>The first sequence number of the affected batches; null if none was sent.</summary>
    public long? FirstSeq => SequenceRange.First < 0 ? null : SequenceRange.First;

    /// <summary>The last sequence number of the affected batches; null if none was sent.</summary>
    public long? LastSeq => SequenceRange.Last < 0 ? null : SequenceRange.Last;

    /// <summary>The fields as text: the exception's type, code and message (not its stack trace), epoch, sequence range and message count.</summary>
    /// <returns>A description of the event.</returns>
    public override string ToString()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var code = Exception is DurableStreamException d ? $" ({d.Code})" : string.Empty;
        return string.Create(inv, $"ProducerErrorEventArgs {{ Exception = {Exception?.GetType().Name}{code}: {Exception?.Message}, Epoch = {Epoch}, FirstSeq = {(FirstSeq is { } f ? f.ToString(inv) : "null")}, LastSeq = {(LastSeq is { } l ? l.ToString(inv) : "null")}, MessageCount = {MessageCount}, IsRetryable = {IsRetryable} }}");
    }

    private static bool IsTransient(Exception exception) => exception is DurableStreamException
    {
        Code: DurableStreamErrorCode.NetworkError or DurableStreamErrorCode.Timeout or DurableStreamErrorCode.ServerError or DurableStreamErrorCode.RateLimited,
    };
}
