using DurableStreams.Diagnostics;

namespace DurableStreams.Interop;

/// <summary>Converts native <c>DsError</c> objects to exceptions.</summary>
internal static unsafe class NativeErrors
{
    /// <summary>
    /// The one list of error kinds: each code <c>ds_error_code</c> returns and the public code it
    /// maps to. The header names each kind <c>DS_ERROR_</c> + its code; the public names follow
    /// the official .NET client's where it has one (<c>CONFLICT</c> → <see cref="DurableStreamErrorCode.ConflictExists"/>,
    /// <c>STALE_EPOCH</c> → <see cref="DurableStreamErrorCode.Forbidden"/>, as its 403), otherwise the
    /// code in PascalCase. <c>InteropDriftTests</c> checks this table against
    /// <c>include/durable_streams.h</c>. A code missing here (a newer core) maps to
    /// <see cref="DurableStreamErrorCode.Unknown"/>.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, DurableStreamErrorCode> Codes = new Dictionary<string, DurableStreamErrorCode>(StringComparer.Ordinal)
    {
        ["NOT_FOUND"] = DurableStreamErrorCode.NotFound,
        ["GONE"] = DurableStreamErrorCode.OffsetGone,
        ["CONFLICT"] = DurableStreamErrorCode.ConflictExists,
        ["SEQUENCE_CONFLICT"] = DurableStreamErrorCode.ConflictSeq,
        ["STREAM_CLOSED"] = DurableStreamErrorCode.StreamClosed,
        ["STALE_EPOCH"] = DurableStreamErrorCode.Forbidden,
        ["SEQUENCE_GAP"] = DurableStreamErrorCode.ConflictSeq,
        ["INVALID_OFFSET"] = DurableStreamErrorCode.InvalidOffset,
        ["BAD_REQUEST"] = DurableStreamErrorCode.BadRequest,
        ["UNAUTHORIZED"] = DurableStreamErrorCode.Unauthorized,
        ["FORBIDDEN"] = DurableStreamErrorCode.Forbidden,
        ["PAYLOAD_TOO_LARGE"] = DurableStreamErrorCode.PayloadTooLarge,
        ["RATE_LIMITED"] = DurableStreamErrorCode.RateLimited,
        ["SERVER_ERROR"] = DurableStreamErrorCode.ServerError,
        ["UNEXPECTED_STATUS"] = DurableStreamErrorCode.UnexpectedStatus,
        ["INVALID_ARGUMENT"] = DurableStreamErrorCode.InvalidArgument,
        ["PARSE_ERROR"] = DurableStreamErrorCode.ParseError,
        ["NETWORK_ERROR"] = DurableStreamErrorCode.NetworkError,
        ["TIMEOUT"] = DurableStreamErrorCode.Timeout,
        ["CANCELLED"] = DurableStreamErrorCode.Cancelled,
        ["BUFFER_FULL"] = DurableStreamErrorCode.BufferFull,
        ["PRODUCER_CLOSED"] = DurableStreamErrorCode.ProducerClosed,
        ["PRODUCER_STATE_LOST"] = DurableStreamErrorCode.ProducerStateLost,
        ["SUBSCRIPTION_CONFLICT"] = DurableStreamErrorCode.SubscriptionConflict,
        ["ALREADY_CLAIMED"] = DurableStreamErrorCode.AlreadyClaimed,
        ["FENCED"] = DurableStreamErrorCode.Fenced,
        ["SUBSCRIPTIONS_NOT_SUPPORTED"] = DurableStreamErrorCode.SubscriptionsNotSupported,
        ["PANIC"] = DurableStreamErrorCode.Panic,
        ["INTERNAL"] = DurableStreamErrorCode.Internal,
    };

    /// <summary>The public code of a native code string; <see cref="DurableStreamErrorCode.Unknown"/> for codes this version does not know.</summary>
    internal static DurableStreamErrorCode CodeOf(string? codeName) =>
        codeName is not null && Codes.TryGetValue(codeName, out var code) ? code : DurableStreamErrorCode.Unknown;

    /// <summary>Converts an owned error to an exception and frees it.</summary>
    internal static Exception Take(DsError* error, CancellationToken token)
    {
        try
        {
            return Convert(error, token);
        }
        finally
        {
            NativeMethods.ds_error_free(error);
        }
    }

    /// <summary>
    /// Converts and frees the owned error of a synchronous call: INVALID_ARGUMENT becomes an
    /// <see cref="ArgumentException"/> naming <paramref name="paramName"/>; anything else the
    /// mapped <see cref="DurableStreamException"/>.
    /// </summary>
    internal static Exception TakeAsArgumentException(DsError* error, string paramName)
    {
        var exception = Take(error, CancellationToken.None);
        return exception is DurableStreamException { Code: DurableStreamErrorCode.InvalidArgument } e
            ? new ArgumentException(e.Message, paramName, e)
            : exception;
    }

    /// <summary>Converts an error (borrowed: not freed) to an exception.</summary>
    internal static Exception Convert(DsError* error, CancellationToken token)
    {
        var codeName = NativeString.Read(NativeMethods.ds_error_code(error));
        var code = CodeOf(codeName);
        var status = NativeMethods.ds_error_status(error);
        int? statusCode = status == 0 ? null : status;
        // Texts that leave the library carry no user info and no query values (Redaction).
        var message = Redaction.Text(NativeString.Read(NativeMethods.ds_error_message(error))) ?? "Durable Streams error";
        var url = Redaction.Url(NativeString.Read(NativeMethods.ds_error_url(error)));
        var serverMessage = Redaction.Text(NativeString.Read(NativeMethods.ds_error_server_message(error)));

        if (code == DurableStreamErrorCode.Cancelled)
        {
            return token.IsCancellationRequested
                ? new OperationCanceledException(message, token)
                : new OperationCanceledException(message);
        }

        // By the exact native kind: several kinds share a public code (STALE_EPOCH and FORBIDDEN...).
        DurableStreamException exception = codeName switch
        {
            "NOT_FOUND" => new StreamNotFoundException(message, statusCode, url),
            "GONE" => new StreamGoneException(message, statusCode, url),
            "CONFLICT" or "SEQUENCE_CONFLICT" => new StreamConflictException(message, code, statusCode, url),
            "STREAM_CLOSED" => new StreamClosedException(message, statusCode, url),
            "STALE_EPOCH" =>
                new StaleEpochException(message, NativeMethods.ds_error_current_epoch(error), statusCode, url),
            "SEQUENCE_GAP" => new SequenceGapException(
                message,
                NativeMethods.ds_error_expected_seq(error),
                NativeMethods.ds_error_received_seq(error),
                statusCode,
                url),
            "SUBSCRIPTION_CONFLICT" => new Subscriptions.SubscriptionConflictException(message, statusCode, url),
            "FENCED" => new Subscriptions.SubscriptionFencedException(message, statusCode, url),
            "SUBSCRIPTIONS_NOT_SUPPORTED" => new Subscriptions.SubscriptionsNotSupportedException(message, statusCode, url),
            _ => new DurableStreamException(message, code, statusCode, url),
        };
        exception.ServerMessage = string.IsNullOrEmpty(serverMessage) ? null : serverMessage;
        exception.CodeName = codeName;
        return exception;
    }
}
