namespace DurableStreams;

/// <summary>
/// What went wrong, coarsely enough to branch on. Members 0 to 14 have the names and values other
/// Durable Streams .NET clients use; the rest are finer kinds only this package reports.
/// <see cref="DurableStreamException.CodeName"/> always names the core's exact kind (for example
/// <c>STALE_EPOCH</c> where <see cref="DurableStreamException.Code"/> is <see cref="Forbidden"/>).
/// </summary>
public enum DurableStreamErrorCode
{
    /// <summary>An error kind this version of the package does not know.</summary>
    Unknown = 0,

    /// <summary>The stream (or a fork's source stream) does not exist (HTTP 404).</summary>
    NotFound = 1,

    /// <summary>
    /// A sequence conflict (HTTP 409): an <see cref="AppendOptions.Seq"/> not greater than the last
    /// one the server accepted, or a producer sequence gap (<see cref="SequenceGapException"/>).
    /// </summary>
    ConflictSeq = 2,

    /// <summary>The stream exists with a different configuration, or the content type does not match (HTTP 409).</summary>
    ConflictExists = 3,

    /// <summary>The server rejected the request as malformed (HTTP 400).</summary>
    BadRequest = 4,

    /// <summary>Authentication is missing or wrong (HTTP 401).</summary>
    Unauthorized = 5,

    /// <summary>The server refused the request (HTTP 403), including a producer's stale epoch (<see cref="StaleEpochException"/>).</summary>
    Forbidden = 6,

    /// <summary>The server asked the client to slow down (HTTP 429) and retries were exhausted.</summary>
    RateLimited = 7,

    /// <summary>
    /// Not raised by this package: a server that refuses SSE answers an explicit
    /// <see cref="LiveMode.Sse"/> read with <see cref="BadRequest"/>; <see cref="LiveMode.Auto"/>
    /// falls back to long-poll by itself. Kept so that code naming it compiles.
    /// </summary>
    SseNotSupported = 8,

    /// <summary>
    /// Not raised by this package: closing a closed stream succeeds, appending to one is
    /// <see cref="StreamClosed"/>, and a closed producer reports <see cref="ProducerClosed"/>.
    /// Kept so that code naming it compiles.
    /// </summary>
    AlreadyClosed = 9,

    /// <summary>The stream was deleted but is retained for its forks, or the offset is older than the server retains (HTTP 410).</summary>
    OffsetGone = 10,

    /// <summary>The connection failed or broke.</summary>
    NetworkError = 11,

    /// <summary>The operation did not finish within its time limit.</summary>
    Timeout = 12,

    /// <summary>A response body, header or SSE event (or the stream's data, e.g. invalid UTF-8 or JSON) could not be parsed.</summary>
    ParseError = 13,

    /// <summary>The stream is closed and accepts no more appends (HTTP 409 with <c>Stream-Closed: true</c>).</summary>
    StreamClosed = 14,

    /// <summary>The offset is malformed or was rejected by the server.</summary>
    InvalidOffset = 15,

    /// <summary>The request body is larger than the server accepts (HTTP 413).</summary>
    PayloadTooLarge = 16,

    /// <summary>The server failed (HTTP 5xx) and retries, if allowed, were exhausted.</summary>
    ServerError = 17,

    /// <summary>The server answered with a status the client does not expect for the operation.</summary>
    UnexpectedStatus = 18,

    /// <summary>An argument or option was rejected by the native core; the message names it.</summary>
    InvalidArgument = 19,

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

    /// <summary>A subscription with this id exists with a different configuration (409); see <see cref="Subscriptions.SubscriptionConflictException"/>.</summary>
    SubscriptionConflict = 26,

    /// <summary>Another worker holds the subscription's lease (409 <c>ALREADY_CLAIMED</c>).</summary>
    AlreadyClaimed = 27,

    /// <summary>
    /// The wake a request belongs to is no longer current (409 <c>FENCED</c>): its lease expired or
    /// another wake replaced it, and nothing was applied; see <see cref="Subscriptions.SubscriptionFencedException"/>.
    /// </summary>
    Fenced = 28,

    /// <summary>The server does not implement the protocol's subscriptions; see <see cref="Subscriptions.SubscriptionsNotSupportedException"/>.</summary>
    SubscriptionsNotSupported = 29,
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
        : this(message, DurableStreamErrorCode.Unknown, statusCode: null, streamUrl: null, innerException)
    {
    }

    /// <summary>Creates an exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="code">What went wrong.</param>
    /// <param name="statusCode">The HTTP status, when the server answered.</param>
    /// <param name="streamUrl">The stream URL the error concerns, when there is one.</param>
    /// <param name="innerException">The cause.</param>
    public DurableStreamException(string message, DurableStreamErrorCode code, int? statusCode = null, string? streamUrl = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        StatusCode = statusCode;
        StreamUrl = streamUrl;
    }

    /// <summary>
    /// The exception for an HTTP error status: <see cref="StreamNotFoundException"/> for 404,
    /// <see cref="StreamClosedException"/> never (a 409 alone does not say why), otherwise a
    /// <see cref="DurableStreamException"/> whose <see cref="Code"/> classifies the status
    /// (400 <see cref="DurableStreamErrorCode.BadRequest"/>, 401, 403, 409
    /// <see cref="DurableStreamErrorCode.ConflictExists"/>, 410 <see cref="DurableStreamErrorCode.OffsetGone"/>,
    /// 413, 429, 5xx <see cref="DurableStreamErrorCode.ServerError"/>, others
    /// <see cref="DurableStreamErrorCode.UnexpectedStatus"/>).
    /// </summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="url">The stream URL.</param>
    /// <param name="message">The message; by default one naming the status and the stream.</param>
    /// <returns>The exception (not thrown).</returns>
    public static DurableStreamException FromStatusCode(int statusCode, string url, string? message = null)
    {
        var text = message ?? string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"HTTP {statusCode} from {Diagnostics.Redaction.Url(url) ?? "the server"}");
        DurableStreamErrorCode code = statusCode switch
        {
            400 => DurableStreamErrorCode.BadRequest,
            401 => DurableStreamErrorCode.Unauthorized,
            403 => DurableStreamErrorCode.Forbidden,
            404 => DurableStreamErrorCode.NotFound,
            409 => DurableStreamErrorCode.ConflictExists,
            410 => DurableStreamErrorCode.OffsetGone,
            413 => DurableStreamErrorCode.PayloadTooLarge,
            429 => DurableStreamErrorCode.RateLimited,
            >= 500 and <= 599 => DurableStreamErrorCode.ServerError,
            _ => DurableStreamErrorCode.UnexpectedStatus,
        };
        return code switch
        {
            DurableStreamErrorCode.NotFound => new StreamNotFoundException(text, statusCode, url),
            DurableStreamErrorCode.OffsetGone => new StreamGoneException(text, statusCode, url),
            DurableStreamErrorCode.ConflictExists => new StreamConflictException(text, code, statusCode, url),
            _ => new DurableStreamException(text, code, statusCode, url),
        };
    }

    /// <summary>What went wrong.</summary>
    public DurableStreamErrorCode Code { get; }

    /// <summary>The HTTP status code, when the server answered; otherwise <c>null</c>.</summary>
    public int? StatusCode { get; }

    /// <summary>The URL of the stream the error concerns, when there is one.</summary>
    public string? StreamUrl { get; }

    /// <summary>The same as <see cref="StreamUrl"/>.</summary>
    public string? Url => StreamUrl;

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

    /// <summary>Creates the exception for the stream at <paramref name="url"/> (message <c>Stream not found: url</c>).</summary>
    /// <param name="url">The stream URL.</param>
    public StreamNotFoundException(string url)
        : base($"Stream not found: {Diagnostics.Redaction.Url(url)}", DurableStreamErrorCode.NotFound, 404, url)
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
        : base(message, DurableStreamErrorCode.OffsetGone, 410, null, innerException)
    {
    }

    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="statusCode">The HTTP status (410).</param>
    /// <param name="url">The stream URL.</param>
    public StreamGoneException(string message, int? statusCode, string? url)
        : base(message, DurableStreamErrorCode.OffsetGone, statusCode, url)
    {
    }
}

/// <summary>
/// The stream exists with a different configuration, the content type does not match, or a
/// <see cref="AppendOptions.Seq"/> regressed (HTTP 409). <see cref="DurableStreamException.Code"/>
/// is <see cref="DurableStreamErrorCode.ConflictExists"/> or <see cref="DurableStreamErrorCode.ConflictSeq"/>.
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
        : base(message, DurableStreamErrorCode.ConflictExists, 409, null, innerException)
    {
    }

    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="code"><see cref="DurableStreamErrorCode.ConflictExists"/> or <see cref="DurableStreamErrorCode.ConflictSeq"/>.</param>
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

    /// <summary>Creates the exception for the stream at <paramref name="url"/> (message <c>Stream is closed: url</c>).</summary>
    /// <param name="url">The stream URL.</param>
    public StreamClosedException(string url)
        : base($"Stream is closed: {Diagnostics.Redaction.Url(url)}", DurableStreamErrorCode.StreamClosed, 409, url)
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
        : base(message, DurableStreamErrorCode.Forbidden, 403, null, innerException)
    {
    }

    /// <summary>Creates the exception for a stale epoch, with the server's current epoch.</summary>
    /// <param name="currentEpoch">The server's current epoch (64-bit in this package).</param>
    /// <param name="url">The stream URL, when known.</param>
    public StaleEpochException(long currentEpoch, string? url = null)
        : base(
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Producer epoch is stale: the server's current epoch is {currentEpoch}. Restart the producer or create one with a higher epoch."),
            DurableStreamErrorCode.Forbidden,
            403,
            url)
    {
        CurrentEpoch = currentEpoch;
    }

    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="currentEpoch">The server's current epoch (-1 when unknown).</param>
    /// <param name="statusCode">The HTTP status (403).</param>
    /// <param name="url">The stream URL.</param>
    public StaleEpochException(string message, long currentEpoch, int? statusCode, string? url)
        : base(message, DurableStreamErrorCode.Forbidden, statusCode, url)
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
        : base(message, DurableStreamErrorCode.ConflictSeq, 409, null, innerException)
    {
    }

    /// <summary>Creates the exception for a sequence gap.</summary>
    /// <param name="expectedSeq">The sequence number the server expected (64-bit in this package).</param>
    /// <param name="receivedSeq">The sequence number the server received.</param>
    /// <param name="url">The stream URL, when known.</param>
    public SequenceGapException(long expectedSeq, long receivedSeq, string? url = null)
        : base(
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Producer sequence gap: expected {expectedSeq}, received {receivedSeq}."),
            DurableStreamErrorCode.ConflictSeq,
            409,
            url)
    {
        ExpectedSeq = expectedSeq;
        ReceivedSeq = receivedSeq;
    }

    /// <summary>Creates the exception with all details.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="expectedSeq">The sequence number the server expected (-1 when unknown).</param>
    /// <param name="receivedSeq">The sequence number the server received (-1 when unknown).</param>
    /// <param name="statusCode">The HTTP status (409).</param>
    /// <param name="url">The stream URL.</param>
    public SequenceGapException(string message, long expectedSeq, long receivedSeq, int? statusCode, string? url)
        : base(message, DurableStreamErrorCode.ConflictSeq, statusCode, url)
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
