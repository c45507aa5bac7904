using Microsoft.Extensions.Logging;

namespace StreamDingo;

/// <summary>StreamDingo's log events (source-generated: no allocation when the level is off).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, EventName = "EventsAppended", Level = LogLevel.Debug, Message = "Appended {Count} event(s) to stream {StreamId}: versions {FirstVersion}..{LastVersion} (duplicate: {Duplicate})")]
    public static partial void EventsAppended(ILogger logger, string streamId, int count, long firstVersion, long lastVersion, bool duplicate);

    [LoggerMessage(EventId = 2, EventName = "ConcurrencyConflict", Level = LogLevel.Information, Message = "Append to stream {StreamId} refused: expected version {ExpectedVersion}, actual {ActualVersion}")]
    public static partial void ConcurrencyConflict(ILogger logger, string streamId, long expectedVersion, long actualVersion);

    [LoggerMessage(EventId = 3, EventName = "StateLoaded", Level = LogLevel.Debug, Message = "Loaded stream {StreamId} as {StateType} at version {Version} via {Source} (snapshot version {SnapshotVersion}, {EventsApplied} event(s) applied)")]
    public static partial void StateLoaded(ILogger logger, string streamId, string stateType, long version, ReplaySource source, long snapshotVersion, long eventsApplied);

    [LoggerMessage(EventId = 4, EventName = "HandlerChanged", Level = LogLevel.Information, Message = "The newest snapshot of stream {StreamId} ({StateType}, version {SnapshotVersion}) was built by other handler code: looking for a compatible snapshot")]
    public static partial void HandlerChanged(ILogger logger, string streamId, string stateType, long snapshotVersion);

    [LoggerMessage(EventId = 5, EventName = "UnknownEventTypeSkipped", Level = LogLevel.Warning, Message = "Skipped event {Version} of stream {StreamId}: type '{EventType}' is not registered")]
    public static partial void UnknownEventTypeSkipped(ILogger logger, string streamId, long version, string eventType);

    [LoggerMessage(EventId = 6, EventName = "IntegrityFailure", Level = LogLevel.Error, Message = "Integrity check failed on stream {StreamId}: {Reason}")]
    public static partial void IntegrityFailure(ILogger logger, string streamId, string reason);

    [LoggerMessage(EventId = 7, EventName = "SnapshotSaved", Level = LogLevel.Debug, Message = "Saved a snapshot of stream {StreamId} ({StateType}) at version {Version}")]
    public static partial void SnapshotSaved(ILogger logger, string streamId, string stateType, long version);
}
