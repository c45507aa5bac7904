namespace DurableStreams;

/// <summary>What went wrong, coarsely enough to branch on. Mirrors the native core's error kinds.</summary>
public enum DurableStreamErrorCode
{
    /// <summary>An error kind this version of the package does not know.</summary>
    Unknown = 0,

    /// <summary>The stream (or a fork's source stream) does not exist (HTTP 404).</summary>
    NotFound = 1,

    /// <summary>The stream was deleted but is retained for its forks (HTTP 410), or the offset is older than the server retains.</summary>
    Gone = 2,

    /// <summary>The stream exists with a different configuration, or the content type does not match (HTTP 409).</summary>
    Conflict = 3,

    /// <summary>A <see cref="AppendOptions.Seq"/> was not greater than the last one the server accepted (HTTP 409).</summary>
    SequenceConflict = 4,

    /// <summary>The stream is closed and accepts no more appends (HTTP 409 with <c>Stream-Closed: true</c>).</summary>
    StreamClosed = 5,

    /// <summary>Another producer claimed a newer epoch for this producer id (HTTP 403).</summary>
    StaleEpoch = 6,

    /// <summary>The server expected a different producer sequence number (HTTP 409).</summary>
    SequenceGap = 7,

    /// <summary>The offset is malformed or was rejected by the server.</summary>
    InvalidOffset = 8,

    /// <summary>The server rejected the request as malformed (HTTP 400).</summary>
    BadRequest = 9,

    /// <summary>Authentication is missing or wrong (HTTP 401).</summary>
    Unauthorized = 10,

    /// <summary>The server refused the request (HTTP 403).</summary>
    Forbidden = 11,

    /// <summary>The request body is larger than the server accepts (HTTP 413).</summary>
    PayloadTooLarge = 12,

    /// <summary>The server asked the client to slow down (HTTP 429) and retries were exhausted.</summary>
    RateLimited = 13,

    /// <summary>The server failed (HTTP 5xx) and retries, if allowed, were exhausted.</summary>
    ServerError = 14,

    /// <summary>The server answered with a status the client does not expect for the operation.</summary>
    UnexpectedStatus = 15,

    /// <summary>An argument or option was rejected by the native core; the message names it.</summary>
    InvalidArgument = 16,

    /// <summary>A response body, header or SSE event (or the stream's data, e.g. invalid UTF-8 or JSON) could not be parsed.</summary>
    ParseError = 17,

    /// <summary>The connection failed or broke.</summary>
    NetworkError = 18,

    /// <summary>The operation did not finish within its time limit.</summary>
    Timeout = 19,

    /// <summary>The operation was cancelled (surfaced as <see cref="OperationCanceledException"/>).</summary>
    Cancelled = 20,

    /// <summary>The producer's buffer limits are reached.</summary>
    BufferFull = 21,

    /// <summary>The producer was closed, detached or failed and accepts no more messages.</summary>
    ProducerClosed = 22,

    /// <summary>A bug: the native core panicked. The operation did not complete; the library stays usable.</summary>
    Panic = 23,

    /// <summary>A bug or unexpected condition inside the native core.</summary>
    Internal = 24,

    /// <summary>
    /// The server lost the producer's state (it restarted without it): it expects sequence 0 again
    /// in the same epoch. Without <see cref="IdempotentProducerOptions.AutoClaim"/> the producer
    /// stops, keeps its undelivered messages for <see cref="IdempotentProducer.RestartAsync"/>, and
    /// refuses appends with this error.
    /// </summary>
    ProducerStateLost = 25,
}

/// <summary>
/// A Durable Streams protocol or client error. <see cref="Exception.Message"/> names the
/// stream, the HTTP status and the server's message when there are any.
/// </summary>
[System.Diagnostics.DebuggerDisplay("{DebuggerDisplay,nq}")]
public class DurableStreamException : Exception
{
    /// <summary>Creates an exception with a generic message.</summary>
    public DurableStreamException()
        : this("A Durable Streams operation failed.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">The message.</param>
    public DurableStreamException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public DurableStreamException(string message, Exception? innerException)
        : this(message, DurableStreamErrorCode.Unknown, statusCode: null, url: null, innerException)
    {
    }

    /// <summary>Creates an exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="code">What went wrong.</param>
    /// <param name="statusCode">The HTTP status, when the server answered.</param>
    /// <param name="url">The stream URL the error concerns, when there is one.</param>
    /// <param name="innerException">The cause.</param>
    public DurableStreamException(string message, DurableStreamErrorCode code, int? statusCode = null, string? url = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        StatusCode = statusCode;
        Url = url;
    }

    /// <summary>What went wrong.</summary>
    public DurableStreamErrorCode Code { get; }

    /// <summary>The HTTP status code, when the server answered; otherwise <c>null</c>.</summary>
    public int? StatusCode { get; }

    /// <summary>The URL of the stream the error concerns, when there is one.</summary>
    public string? Url { get; }

    /// <summary>The server's own error message (response body or reason), when there was one.</summary>
    public string? ServerMessage { get; internal set; }

    /// <summary>
    /// The stable upper-snake-case name of the error kind reported by the core, e.g. <c>NOT_FOUND</c>,
    /// <c>PARSE_ERROR</c> or <c>NETWORK_ERROR</c> (the same name in every language binding, suitable for
    /// logs and metrics). It names the kind even when this version of the package does not know it
    /// (<see cref="Code"/> is then <see cref="DurableStreamErrorCode.Unknown"/>). <c>null</c> for errors
    /// raised by the package itself rather than the core (for example a message that does not deserialize).
    /// </summary>
    public string? CodeName { get; internal set; }

    /// <summary>What the debugger shows: the type, the fields (the URL redacted) and the message; <see cref="Exception.ToString"/> is unchanged.</summary>
    internal string DebuggerDisplay => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"{GetType().Name} {{ Code = {Code}, CodeName = {CodeName ?? "null"}, StatusCode = {(StatusCode is { } status ? status.ToString(System.Globalization.CultureInfo.InvariantCulture) : "null")}, Url = {Diagnostics.Redaction.Url(Url) ?? "null"}{ExtraDebuggerFields}, Message = {Message} }}");

    /// <summary>Fields a derived exception adds to <see cref="DebuggerDisplay"/> (", Name = value").</summary>
    private protected virtual string ExtraDebuggerFields => string.Empty;
}

/// <summary>The stream (or a fork's source) does not exist (HTTP 404).</summary>
public class StreamNotFoundException : DurableStreamException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public StreamNotFoundException()
        : this("The stream was not found.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public StreamNotFoundException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public StreamNotFoundException(string message, Exception? innerException)
        : base(message, DurableStreamErrorCode.NotFound, 404, null, innerException)
    {
    }

    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="statusCode">The HTTP status (404).</param>
    /// <param name="url">The stream URL.</param>
    public StreamNotFoundException(string message, int? statusCode, string? url)
        : base(message, DurableStreamErrorCode.NotFound, statusCode, url)
    {
    }
}

/// <summary>The stream was deleted but is retained for its forks, or the offset is older than the server retains (HTTP 410).</summary>
public class StreamGoneException : DurableStreamException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public StreamGoneException()
        : this("The stream is gone.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public StreamGoneException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public StreamGoneException(string message, Exception? innerException)
        : base(message, DurableStreamErrorCode.Gone, 410, null, innerException)
    {
    }

    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="statusCode">The HTTP status (410).</param>
    /// <param name="url">The stream URL.</param>
    public StreamGoneException(string message, int? statusCode, string? url)
        : base(message, DurableStreamErrorCode.Gone, statusCode, url)
    {
    }
}

/// <summary>
/// The stream exists with a different configuration, the content type does not match, or a
/// <see cref="AppendOptions.Seq"/> regressed (HTTP 409). <see cref="DurableStreamException.Code"/>
/// is <see cref="DurableStreamErrorCode.Conflict"/> or <see cref="DurableStreamErrorCode.SequenceConflict"/>.
/// </summary>
public class StreamConflictException : DurableStreamException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public StreamConflictException()
        : this("The request conflicts with the stream's state.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public StreamConflictException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public StreamConflictException(string message, Exception? innerException)
        : base(message, DurableStreamErrorCode.Conflict, 409, null, innerException)
    {
    }

    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="code"><see cref="DurableStreamErrorCode.Conflict"/> or <see cref="DurableStreamErrorCode.SequenceConflict"/>.</param>
    /// <param name="statusCode">The HTTP status (409).</param>
    /// <param name="url">The stream URL.</param>
    public StreamConflictException(string message, DurableStreamErrorCode code, int? statusCode, string? url)
        : base(message, code, statusCode, url)
    {
    }
}

/// <summary>The stream is closed and accepts no more appends (HTTP 409 with <c>Stream-Closed: true</c>).</summary>
public class StreamClosedException : DurableStreamException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public StreamClosedException()
        : this("The stream is closed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public StreamClosedException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public StreamClosedException(string message, Exception? innerException)
        : base(message, DurableStreamErrorCode.StreamClosed, 409, null, innerException)
    {
    }

    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="statusCode">The HTTP status (409).</param>
    /// <param name="url">The stream URL.</param>
    public StreamClosedException(string message, int? statusCode, string? url)
        : base(message, DurableStreamErrorCode.StreamClosed, statusCode, url)
    {
    }
}

/// <summary>
/// The producer's epoch is stale (HTTP 403): another producer with the same id claimed a newer
/// epoch. <see cref="CurrentEpoch"/> is the server's epoch.
/// </summary>
public class StaleEpochException : DurableStreamException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public StaleEpochException()
        : this("The producer epoch is stale.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public StaleEpochException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public StaleEpochException(string message, Exception? innerException)
        : base(message, DurableStreamErrorCode.StaleEpoch, 403, null, innerException)
    {
    }

    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="currentEpoch">The server's current epoch (-1 when unknown).</param>
    /// <param name="statusCode">The HTTP status (403).</param>
    /// <param name="url">The stream URL.</param>
    public StaleEpochException(string message, long currentEpoch, int? statusCode, string? url)
        : base(message, DurableStreamErrorCode.StaleEpoch, statusCode, url)
    {
        CurrentEpoch = currentEpoch;
    }

    /// <summary>The server's current epoch for the producer id (-1 when the server did not say).</summary>
    public long CurrentEpoch { get; } = -1;

    private protected override string ExtraDebuggerFields => string.Create(System.Globalization.CultureInfo.InvariantCulture, $", CurrentEpoch = {CurrentEpoch}");
}

/// <summary>The server expected a different producer sequence number (HTTP 409).</summary>
public class SequenceGapException : DurableStreamException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public SequenceGapException()
        : this("Producer sequence gap.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public SequenceGapException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public SequenceGapException(string message, Exception? innerException)
        : base(message, DurableStreamErrorCode.SequenceGap, 409, null, innerException)
    {
    }

    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="expectedSeq">The sequence number the server expected (-1 when unknown).</param>
    /// <param name="receivedSeq">The sequence number the server received (-1 when unknown).</param>
    /// <param name="statusCode">The HTTP status (409).</param>
    /// <param name="url">The stream URL.</param>
    public SequenceGapException(string message, long expectedSeq, long receivedSeq, int? statusCode, string? url)
        : base(message, DurableStreamErrorCode.SequenceGap, statusCode, url)
    {
        ExpectedSeq = expectedSeq;
        ReceivedSeq = receivedSeq;
    }

    /// <summary>The sequence number the server expected (-1 when the server did not say).</summary>
    public long ExpectedSeq { get; } = -1;

    /// <summary>The sequence number the server received (-1 when the server did not say).</summary>
    public long ReceivedSeq { get; } = -1;

    private protected override string ExtraDebuggerFields => string.Create(System.Globalization.CultureInfo.InvariantCulture, $", ExpectedSeq = {ExpectedSeq}, ReceivedSeq = {ReceivedSeq}");
}
