using Microsoft.Extensions.Logging;

namespace S2.StreamStore.Diagnostics;

/// <summary>The library's log messages (source-generated).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "S2 {Operation} failed (basin {Basin}, stream {Stream}): {ErrorType}")]
    internal static partial void OperationFailed(ILogger logger, string operation, string? basin, string? stream, string errorType, Exception exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "S2 {What} failed (basin {Basin}, stream {Stream}): {ErrorType}")]
    internal static partial void SessionFailed(ILogger logger, string what, string basin, string stream, string errorType, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "S2 {What} opened on basin {Basin}, stream {Stream}")]
    internal static partial void Opened(ILogger logger, string what, string basin, string stream);
}
