using Microsoft.Extensions.Logging;

namespace DurableStreams.AspNetCore;

/// <summary>The endpoint's log events (never the callback token or the body).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Rejected a webhook request to {Path}: {Reason}")]
    internal static partial void Rejected(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Webhook wake {WakeId} (generation {Generation}) of subscription {SubscriptionId} verified; {Streams} streams")]
    internal static partial void Verified(ILogger logger, string subscriptionId, string wakeId, long generation, int streams);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Webhook wake {WakeId} of subscription {SubscriptionId} handled: {Outcome}")]
    internal static partial void Handled(ILogger logger, string subscriptionId, string wakeId, string outcome);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "The webhook handler failed for wake {WakeId} of subscription {SubscriptionId}; answering 500 so the server redelivers")]
    internal static partial void HandlerFailed(ILogger logger, Exception exception, string subscriptionId, string wakeId);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error, Message = "Cannot verify a webhook request to {Path}: the signing keys are unavailable; answering 503")]
    internal static partial void Unavailable(ILogger logger, Exception exception, string path);
}
