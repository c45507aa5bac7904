namespace DurableStreams.Interop;

/// <summary>Converts native <c>DsError</c> objects to exceptions.</summary>
internal static unsafe class NativeErrors
{
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

    /// <summary>Converts an error (borrowed: not freed) to an exception.</summary>
    internal static Exception Convert(DsError* error, CancellationToken token)
    {
        var kind = NativeMethods.ds_error_kind(error);
        var status = NativeMethods.ds_error_status(error);
        int? statusCode = status == 0 ? null : status;
        var message = NativeString.Read(NativeMethods.ds_error_message(error)) ?? "Durable Streams error";
        var url = NativeString.Read(NativeMethods.ds_error_url(error));
        var serverMessage = NativeString.Read(NativeMethods.ds_error_server_message(error));
        var nativeCode = NativeString.Read(NativeMethods.ds_error_code(error));
        var code = kind is >= (int)DsErrorKind.NotFound and <= (int)DsErrorKind.Internal
            ? (DurableStreamErrorCode)kind
            : DurableStreamErrorCode.Unknown;

        if (code == DurableStreamErrorCode.Cancelled)
        {
            return token.IsCancellationRequested
                ? new OperationCanceledException(message, token)
                : new OperationCanceledException(message);
        }

        DurableStreamException exception = code switch
        {
            DurableStreamErrorCode.NotFound => new StreamNotFoundException(message, statusCode, url),
            DurableStreamErrorCode.Gone => new StreamGoneException(message, statusCode, url),
            DurableStreamErrorCode.Conflict or DurableStreamErrorCode.SequenceConflict =>
                new StreamConflictException(message, code, statusCode, url),
            DurableStreamErrorCode.StreamClosed => new StreamClosedException(message, statusCode, url),
            DurableStreamErrorCode.StaleEpoch =>
                new StaleEpochException(message, NativeMethods.ds_error_current_epoch(error), statusCode, url),
            DurableStreamErrorCode.SequenceGap => new SequenceGapException(
                message,
                NativeMethods.ds_error_expected_seq(error),
                NativeMethods.ds_error_received_seq(error),
                statusCode,
                url),
            _ => new DurableStreamException(message, code, statusCode, url),
        };
        exception.ServerMessage = string.IsNullOrEmpty(serverMessage) ? null : serverMessage;
        exception.NativeCode = nativeCode;
        return exception;
    }
}
