namespace S2.StreamStore.Interop;

/// <summary>Converts native <c>S2Error</c> objects to exceptions.</summary>
internal static unsafe class NativeErrors
{
    /// <summary>
    /// The managed list of error kinds, by their stable native names (<c>s2_error_kind_name</c>,
    /// the suffix of each <c>S2_ERROR_</c> constant). A test checks it against the header and the library.
    /// </summary>
    internal static readonly IReadOnlyDictionary<S2ErrorKind, string> KindNames = new Dictionary<S2ErrorKind, string>
    {
        [S2ErrorKind.InvalidArgument] = "INVALID_ARGUMENT",
        [S2ErrorKind.BasinNotFound] = "BASIN_NOT_FOUND",
        [S2ErrorKind.StreamNotFound] = "STREAM_NOT_FOUND",
        [S2ErrorKind.AlreadyExists] = "ALREADY_EXISTS",
        [S2ErrorKind.SeqNumMismatch] = "SEQ_NUM_MISMATCH",
        [S2ErrorKind.FencingTokenMismatch] = "FENCING_TOKEN_MISMATCH",
        [S2ErrorKind.ReadUnwritten] = "READ_UNWRITTEN",
        [S2ErrorKind.RateLimited] = "RATE_LIMITED",
        [S2ErrorKind.NotSupported] = "NOT_SUPPORTED",
        [S2ErrorKind.Unauthorized] = "UNAUTHORIZED",
        [S2ErrorKind.PermissionDenied] = "PERMISSION_DENIED",
        [S2ErrorKind.DeletionPending] = "DELETION_PENDING",
        [S2ErrorKind.BadRequest] = "BAD_REQUEST",
        [S2ErrorKind.ServerError] = "SERVER_ERROR",
        [S2ErrorKind.Timeout] = "TIMEOUT",
        [S2ErrorKind.Network] = "NETWORK",
        [S2ErrorKind.Protocol] = "PROTOCOL",
        [S2ErrorKind.AppendOutcomeUnknown] = "APPEND_OUTCOME_UNKNOWN",
        [S2ErrorKind.Closed] = "CLOSED",
        [S2ErrorKind.Cancelled] = "CANCELLED",
        [S2ErrorKind.Internal] = "INTERNAL",
        [S2ErrorKind.Panic] = "PANIC",
    };

    /// <summary>Converts an owned error to an exception and frees it.</summary>
    internal static Exception Take(S2NativeError* error, CancellationToken token)
    {
        try
        {
            return Convert(error, token);
        }
        finally
        {
            NativeMethods.s2_error_free(error);
        }
    }

    /// <summary>
    /// Converts and frees the error of a synchronous call: INVALID_ARGUMENT becomes an
    /// <see cref="ArgumentException"/> naming <paramref name="paramName"/>.
    /// </summary>
    internal static Exception TakeAsArgumentException(S2NativeError* error, string paramName)
    {
        var exception = Take(error, CancellationToken.None);
        return exception is S2Exception { Kind: S2ErrorKind.InvalidArgument } e
            ? new ArgumentException(e.Message, paramName, e)
            : exception;
    }

    /// <summary>The kind of a native kind value (unknown values: <see cref="S2ErrorKind.Internal"/>).</summary>
    internal static S2ErrorKind KindOf(int raw) =>
        Enum.IsDefined(typeof(S2ErrorKind), raw) ? (S2ErrorKind)raw : S2ErrorKind.Internal;

    /// <summary>Converts a borrowed error to an exception.</summary>
    internal static Exception Convert(S2NativeError* error, CancellationToken token)
    {
        var kind = KindOf(NativeMethods.s2_error_kind(error));
        var message = NativeString.Read(NativeMethods.s2_error_message(error)) ?? "S2 error";
        if (kind == S2ErrorKind.Cancelled)
        {
            return token.IsCancellationRequested ? new OperationCanceledException(message, token) : new OperationCanceledException(message);
        }
        var status = NativeMethods.s2_error_status(error);
        var details = new S2ErrorDetails(
            kind,
            status == 0 ? null : status,
            NativeString.Read(NativeMethods.s2_error_code(error)),
            NativeString.Read(NativeMethods.s2_error_server_message(error)),
            NativeString.Read(NativeMethods.s2_error_basin(error)),
            NativeString.Read(NativeMethods.s2_error_stream(error)),
            NativeMethods.s2_error_is_retryable(error));
        switch (kind)
        {
            case S2ErrorKind.BasinNotFound:
                return new BasinNotFoundException(message, details);
            case S2ErrorKind.StreamNotFound:
                return new StreamNotFoundException(message, details);
            case S2ErrorKind.AlreadyExists:
                return new ResourceAlreadyExistsException(message, details);
            case S2ErrorKind.RateLimited:
                return new RateLimitedException(message, details);
            case S2ErrorKind.NotSupported:
                return new S2NotSupportedException(message, details);
            case S2ErrorKind.SeqNumMismatch:
                var expected = NativeMethods.s2_error_expected_seq_num(error);
                return new SeqNumMismatchException(message, details, expected < 0 ? 0 : (ulong)expected);
            case S2ErrorKind.FencingTokenMismatch:
                return new FencingTokenMismatchException(message, details, NativeString.Read(NativeMethods.s2_error_expected_fencing_token(error)));
            case S2ErrorKind.ReadUnwritten:
                S2PositionNative tail;
                return new ReadUnwrittenException(message, details, NativeMethods.s2_error_tail(error, &tail) ? new StreamPosition(tail.SeqNum, tail.Timestamp) : null);
            default:
                return new S2Exception(message, details);
        }
    }
}
