namespace S2.StreamStore;

/// <summary>
/// A failed S2 operation: its <see cref="Kind"/>, the HTTP <see cref="StatusCode"/> and S2 error
/// <see cref="Code"/> when the server answered, the server's message, and the basin and stream.
/// </summary>
public class S2Exception : Exception
{
    /// <summary>Creates an exception.</summary>
    public S2Exception()
        : this("S2 error")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">The description.</param>
    public S2Exception(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    /// <param name="message">The description.</param>
    /// <param name="innerException">The cause.</param>
    public S2Exception(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with every detail.</summary>
    /// <param name="message">The full description.</param>
    /// <param name="details">Kind, status, code, server message, basin and stream.</param>
    public S2Exception(string message, S2ErrorDetails details)
        : base(message)
    {
        ArgumentNullException.ThrowIfNull(details);
        Kind = details.Kind;
        StatusCode = details.StatusCode;
        Code = details.Code;
        ServerMessage = details.ServerMessage;
        Basin = details.Basin;
        Stream = details.Stream;
        IsRetryable = details.IsRetryable;
    }

    /// <summary>What went wrong.</summary>
    public S2ErrorKind Kind { get; } = S2ErrorKind.Internal;

    /// <summary>The HTTP status of the server's answer; <c>null</c> when there was none.</summary>
    public int? StatusCode { get; }

    /// <summary>S2's error code (<c>stream_not_found</c>, <c>rate_limited</c>...); <c>null</c> when the server gave none.</summary>
    public string? Code { get; }

    /// <summary>The server's own message (or the library's description when the server did not answer).</summary>
    public string? ServerMessage { get; }

    /// <summary>The basin the operation concerned, if any.</summary>
    public string? Basin { get; }

    /// <summary>The stream the operation concerned, if any.</summary>
    public string? Stream { get; }

    /// <summary>Whether trying again later may succeed.</summary>
    public bool IsRetryable { get; }
}

/// <summary>The details of an <see cref="S2Exception"/>.</summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="StatusCode">The HTTP status, if the server answered.</param>
/// <param name="Code">S2's error code, if the server gave one.</param>
/// <param name="ServerMessage">The server's message.</param>
/// <param name="Basin">The basin concerned.</param>
/// <param name="Stream">The stream concerned.</param>
/// <param name="IsRetryable">Whether trying again later may succeed.</param>
public sealed record S2ErrorDetails(S2ErrorKind Kind, int? StatusCode, string? Code, string? ServerMessage, string? Basin, string? Stream, bool IsRetryable);

/// <summary>The basin does not exist.</summary>
public sealed class BasinNotFoundException : S2Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full description.</param>
    /// <param name="details">The error's details.</param>
    public BasinNotFoundException(string message, S2ErrorDetails details)
        : base(message, details)
    {
    }
}

/// <summary>The stream does not exist.</summary>
public sealed class StreamNotFoundException : S2Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full description.</param>
    /// <param name="details">The error's details.</param>
    public StreamNotFoundException(string message, S2ErrorDetails details)
        : base(message, details)
    {
    }
}

/// <summary>The basin or stream already exists.</summary>
public sealed class ResourceAlreadyExistsException : S2Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full description.</param>
    /// <param name="details">The error's details.</param>
    public ResourceAlreadyExistsException(string message, S2ErrorDetails details)
        : base(message, details)
    {
    }
}

/// <summary>The server asked the client to slow down and the retries were exhausted.</summary>
public sealed class RateLimitedException : S2Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full description.</param>
    /// <param name="details">The error's details.</param>
    public RateLimitedException(string message, S2ErrorDetails details)
        : base(message, details)
    {
    }
}

/// <summary>An append's <see cref="AppendOptions.MatchSeqNum"/> was not the stream's next sequence number.</summary>
public sealed class SeqNumMismatchException : S2Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full description.</param>
    /// <param name="details">The error's details.</param>
    /// <param name="expectedSeqNum">The sequence number the stream expected (its tail).</param>
    public SeqNumMismatchException(string message, S2ErrorDetails details, ulong expectedSeqNum)
        : base(message, details) => ExpectedSeqNum = expectedSeqNum;

    /// <summary>The sequence number the stream expected, as the server reported it.</summary>
    public ulong ExpectedSeqNum { get; }
}

/// <summary>An append's <see cref="AppendOptions.FencingToken"/> was not the stream's fencing token.</summary>
public sealed class FencingTokenMismatchException : S2Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full description.</param>
    /// <param name="details">The error's details.</param>
    /// <param name="expectedFencingToken">The stream's current fencing token.</param>
    public FencingTokenMismatchException(string message, S2ErrorDetails details, string? expectedFencingToken)
        : base(message, details) => ExpectedFencingToken = expectedFencingToken;

    /// <summary>The stream's current fencing token, as the server reported it.</summary>
    public string? ExpectedFencingToken { get; }
}

/// <summary>A read started past the tail without <see cref="ReadOptions.Clamp"/>.</summary>
public sealed class ReadUnwrittenException : S2Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full description.</param>
    /// <param name="details">The error's details.</param>
    /// <param name="tail">The stream's tail, when the server reported it.</param>
    public ReadUnwrittenException(string message, S2ErrorDetails details, StreamPosition? tail)
        : base(message, details) => Tail = tail;

    /// <summary>The stream's tail, when the server reported it.</summary>
    public StreamPosition? Tail { get; }
}

/// <summary>
/// The server does not implement the operation: for example <c>s2 lite</c> has no access tokens,
/// metrics or locations. Reported at once, never as a hang.
/// </summary>
public sealed class S2NotSupportedException : S2Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full description.</param>
    /// <param name="details">The error's details.</param>
    public S2NotSupportedException(string message, S2ErrorDetails details)
        : base("Not supported by this server: " + message, details)
    {
    }
}
