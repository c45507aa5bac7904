using Microsoft.Extensions.Logging;

namespace DurableStreams.Diagnostics;

/// <summary>
/// The library's log messages (category <c>DurableStreams</c>). Fields are structured; URLs are
/// logged without query string or user info, and no header value is ever logged.
/// </summary>
internal static partial class Log
{
    internal const string Category = "DurableStreams";

    /// <summary>Failures that a retry or a later attempt may fix are warnings; the others (404, 409...) debug messages, since the caller gets the exception.</summary>
    internal static bool IsTransient(Exception e) => e is DurableStreamException
    {
        Code: DurableStreamErrorCode.NetworkError or DurableStreamErrorCode.Timeout or DurableStreamErrorCode.ServerError
            or DurableStreamErrorCode.RateLimited or DurableStreamErrorCode.Panic or DurableStreamErrorCode.Internal,
    };

    internal static void OperationFailed(ILogger logger, string operation, string streamUrl, Exception error)
    {
        if (error is OperationCanceledException)
        {
            OperationCancelled(logger, operation, streamUrl);
            return;
        }
        var (code, status) = Details(error);
        if (IsTransient(error))
        {
            OperationFailedTransient(logger, operation, streamUrl, code, status, error);
        }
        else
        {
            OperationFailedPermanent(logger, operation, streamUrl, code, status, error);
        }
    }

    internal static (string Code, int? Status) Details(Exception error) =>
        (Telemetry.ErrorType(error), error is DurableStreamException d ? d.StatusCode : null);

    [LoggerMessage(EventId = 1, EventName = "OperationFailed", Level = LogLevel.Warning,
        Message = "Durable Streams {Operation} on {StreamUrl} failed: {ErrorCode} (HTTP status {StatusCode})")]
    private static partial void OperationFailedTransient(ILogger logger, string operation, string streamUrl, string errorCode, int? statusCode, Exception error);

    [LoggerMessage(EventId = 2, EventName = "OperationRejected", Level = LogLevel.Debug,
        Message = "Durable Streams {Operation} on {StreamUrl} was rejected: {ErrorCode} (HTTP status {StatusCode})")]
    private static partial void OperationFailedPermanent(ILogger logger, string operation, string streamUrl, string errorCode, int? statusCode, Exception error);

    [LoggerMessage(EventId = 3, EventName = "OperationCancelled", Level = LogLevel.Debug,
        Message = "Durable Streams {Operation} on {StreamUrl} was cancelled")]
    private static partial void OperationCancelled(ILogger logger, string operation, string streamUrl);

    [LoggerMessage(EventId = 4, EventName = "ReadFailed", Level = LogLevel.Warning,
        Message = "Durable Streams read session on {StreamUrl} failed at offset {Offset}: {ErrorCode} (HTTP status {StatusCode}); resume from the session's checkpoint")]
    internal static partial void ReadFailed(ILogger logger, string streamUrl, string offset, string errorCode, int? statusCode, Exception error);

    [LoggerMessage(EventId = 5, EventName = "ProducerDeliveryFailed", Level = LogLevel.Error,
        Message = "Durable Streams producer {ProducerId} (epoch {Epoch}) on {StreamUrl} failed to deliver {MessageCount} message(s), seq {FirstSeq}..{LastSeq}: {ErrorCode} (HTTP status {StatusCode})")]
    internal static partial void ProducerDeliveryFailed(ILogger logger, string producerId, long epoch, string streamUrl, long messageCount, long? firstSeq, long? lastSeq, string errorCode, int? statusCode, Exception error);

    [LoggerMessage(EventId = 6, EventName = "ClientCreated", Level = LogLevel.Debug,
        Message = "Durable Streams client created for {BaseUrl} (max retries {MaxRetries}, request timeout {RequestTimeout}, {HeaderCount} default header(s))")]
    internal static partial void ClientCreated(ILogger logger, string baseUrl, int maxRetries, TimeSpan requestTimeout, int headerCount);
}
