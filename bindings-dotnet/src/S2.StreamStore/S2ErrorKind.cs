namespace S2.StreamStore;

/// <summary>
/// What went wrong: the native core's error kinds, with the same values as <c>S2ErrorKind</c> in
/// <c>include/s2.h</c>. A value this version does not know (a newer core) is reported as
/// <see cref="Internal"/>.
/// </summary>
public enum S2ErrorKind
{
    /// <summary>An argument is invalid; nothing was sent.</summary>
    InvalidArgument = 0,

    /// <summary>The basin does not exist.</summary>
    BasinNotFound = 1,

    /// <summary>The stream does not exist.</summary>
    StreamNotFound = 2,

    /// <summary>The basin or stream already exists.</summary>
    AlreadyExists = 3,

    /// <summary><c>match_seq_num</c> did not match (<see cref="SeqNumMismatchException.ExpectedSeqNum"/>).</summary>
    SeqNumMismatch = 4,

    /// <summary>The fencing token did not match (<see cref="FencingTokenMismatchException.ExpectedFencingToken"/>).</summary>
    FencingTokenMismatch = 5,

    /// <summary>A read started past the tail (<see cref="ReadUnwrittenException.Tail"/>).</summary>
    ReadUnwritten = 6,

    /// <summary>The server asked the client to slow down and retries were exhausted.</summary>
    RateLimited = 7,

    /// <summary>The server does not implement the operation (e.g. access tokens on <c>s2 lite</c>).</summary>
    NotSupported = 8,

    /// <summary>The access token is missing or invalid.</summary>
    Unauthorized = 9,

    /// <summary>The access token does not permit the operation.</summary>
    PermissionDenied = 10,

    /// <summary>The basin or stream is being deleted.</summary>
    DeletionPending = 11,

    /// <summary>The server rejected the request as invalid.</summary>
    BadRequest = 12,

    /// <summary>The server failed and retries were exhausted.</summary>
    ServerError = 13,

    /// <summary>The operation or an acknowledgement did not arrive in time.</summary>
    Timeout = 14,

    /// <summary>The connection could not be made or broke.</summary>
    Network = 15,

    /// <summary>A response or session message could not be decoded.</summary>
    Protocol = 16,

    /// <summary>An append may or may not have been stored.</summary>
    AppendOutcomeUnknown = 17,

    /// <summary>The session or producer is closed.</summary>
    Closed = 18,

    /// <summary>Cancelled (reported as <see cref="OperationCanceledException"/>).</summary>
    Cancelled = 19,

    /// <summary>An unexpected condition inside the library.</summary>
    Internal = 20,

    /// <summary>A bug: the native library panicked (it stays usable).</summary>
    Panic = 21,
}
