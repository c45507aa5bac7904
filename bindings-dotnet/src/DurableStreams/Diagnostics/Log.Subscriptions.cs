using Microsoft.Extensions.Logging;

namespace DurableStreams.Diagnostics;

/// <summary>The log events of pull workers.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 20, EventName = "SubscriptionWorkerStarted", Level = LogLevel.Information,
        Message = "Pull worker {Worker} of subscription {Subscription} started")]
    internal static partial void SubscriptionWorkerStarted(ILogger logger, string subscription, string worker);

    [LoggerMessage(EventId = 21, EventName = "SubscriptionWorkerStopped", Level = LogLevel.Information,
        Message = "Pull worker {Worker} of subscription {Subscription} stopped ({Reason})")]
    internal static partial void SubscriptionWorkerStopped(ILogger logger, string subscription, string worker, string reason);

    [LoggerMessage(EventId = 22, EventName = "SubscriptionBatchFailed", Level = LogLevel.Warning,
        Message = "Pull worker {Worker} of subscription {Subscription} failed a batch of {Stream} up to {Offset}; the wake is released and the batch delivered again")]
    internal static partial void SubscriptionBatchFailed(ILogger logger, string subscription, string worker, string stream, string offset, Exception exception);

    [LoggerMessage(EventId = 23, EventName = "SubscriptionLeaseLost", Level = LogLevel.Warning,
        Message = "Pull worker {Worker} of subscription {Subscription} lost the lease while handling {Stream} (fenced, or not renewed in time); another worker processes it again")]
    internal static partial void SubscriptionLeaseLost(ILogger logger, string subscription, string worker, string stream);

    [LoggerMessage(EventId = 24, EventName = "SubscriptionWorkerFailed", Level = LogLevel.Error,
        Message = "Pull worker {Worker} of subscription {Subscription} stopped on a failure retrying cannot cure")]
    internal static partial void SubscriptionWorkerFailed(ILogger logger, string subscription, string worker, Exception exception);
}
