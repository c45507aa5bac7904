using System.Text.Json;

namespace DurableStreams.ConformanceAdapter;

/// <summary>Maps the package's exceptions to the protocol's error codes.</summary>
internal static class ErrorMapping
{
    /// <summary>The error code, HTTP status (when there was one) and message for <paramref name="exception"/>.</summary>
    /// <param name="exception">What the command threw.</param>
    /// <param name="path">The stream path the command concerned, if any (a NOT_FOUND message must name it).</param>
    public static (string Code, int? Status, string Message) Map(Exception exception, string? path)
    {
        exception = Unwrap(exception);
        switch (exception)
        {
            case AdapterException a:
                return (a.Code, a.Status, a.Message);
            case StreamNotFoundException nf:
                return (ErrorCodes.NotFound, nf.StatusCode ?? 404, NamePath(nf.Message, path));
            case DurableStreamException d:
                return (CodeOf(d), d.StatusCode, d.Message);
            case OperationCanceledException:
                return (ErrorCodes.Timeout, null, "The operation did not finish within the command's time limit.");
            case ArgumentException arg:
                return (ErrorCodes.InvalidArgument, null, arg.Message);
            case JsonException json:
                return (ErrorCodes.ParseError, null, json.Message);
            case FormatException format:
                return (ErrorCodes.InvalidArgument, null, format.Message);
            case ObjectDisposedException disposed:
                return (ErrorCodes.InternalError, null, disposed.Message);
            default:
                return (ErrorCodes.InternalError, null, $"{exception.GetType().Name}: {exception.Message}");
        }
    }

    /// <summary>The protocol code for a package error code.</summary>
    public static string CodeOf(DurableStreamException exception) => exception.Code switch
    {
        DurableStreamErrorCode.NotFound => ErrorCodes.NotFound,
        DurableStreamErrorCode.ConflictExists => ErrorCodes.Conflict,
        // A Stream-Seq regression, or a producer sequence the server did not expect (409 Producer-Expected-Seq).
        DurableStreamErrorCode.ConflictSeq => ErrorCodes.SequenceConflict,
        DurableStreamErrorCode.StreamClosed => ErrorCodes.StreamClosed,
        DurableStreamErrorCode.InvalidOffset => ErrorCodes.InvalidOffset,
        DurableStreamErrorCode.ParseError => ErrorCodes.ParseError,
        DurableStreamErrorCode.NetworkError => ErrorCodes.NetworkError,
        DurableStreamErrorCode.Timeout => ErrorCodes.Timeout,
        DurableStreamErrorCode.InvalidArgument => ErrorCodes.InvalidArgument,
        // Gone (410), stale producer epoch (403), 400/401/403/413/429/5xx after retries.
        DurableStreamErrorCode.OffsetGone
            or DurableStreamErrorCode.BadRequest
            or DurableStreamErrorCode.Unauthorized
            or DurableStreamErrorCode.Forbidden
            or DurableStreamErrorCode.PayloadTooLarge
            or DurableStreamErrorCode.RateLimited
            or DurableStreamErrorCode.ServerError
            or DurableStreamErrorCode.UnexpectedStatus => ErrorCodes.UnexpectedStatus,
        _ => ErrorCodes.InternalError,
    };

    private static Exception Unwrap(Exception exception)
    {
        while (exception is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            exception = aggregate.InnerExceptions[0];
        }
        return exception;
    }

    private static string NamePath(string message, string? path) =>
        path is null || message.Contains(path, StringComparison.Ordinal) ? message : $"{message} (stream path {path})";
}
