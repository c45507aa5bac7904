namespace StreamDingo;

/// <summary>A handler threw while applying an event. The state was not advanced past the event before it.</summary>
public sealed class EventHandlerException : StreamDingoException
{
    /// <summary>A handler failure.</summary>
    /// <param name="handlerName">The handler's name.</param>
    /// <param name="eventType">The event's type name.</param>
    /// <param name="streamId">The stream.</param>
    /// <param name="version">The event's version (for an append not yet written, the version it would have had).</param>
    /// <param name="innerException">What the handler threw.</param>
    public EventHandlerException(string handlerName, string eventType, string streamId, long version, Exception innerException)
        : base($"Handler {handlerName} threw on event {version} ({eventType}) of stream '{streamId}': {innerException?.Message}", innerException)
    {
        HandlerName = handlerName;
        EventType = eventType;
        StreamId = streamId;
        Version = version;
    }

    /// <summary>The handler's name.</summary>
    public string HandlerName { get; }

    /// <summary>The event's type name.</summary>
    public string EventType { get; }

    /// <summary>The stream.</summary>
    public string StreamId { get; }

    /// <summary>The event's version.</summary>
    public long Version { get; }
}
