namespace StreamDingo;

/// <summary>A stored event's type name is not registered (with <see cref="UnknownEventTypeHandling.Fail"/>, the default).</summary>
public sealed class UnknownEventTypeException : StreamDingoException
{
    /// <summary>An unknown type at one event.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="version">The event's version (its offset in the stream).</param>
    /// <param name="eventType">The stored type name.</param>
    public UnknownEventTypeException(string streamId, long version, string eventType)
        : base($"Event {version} of stream '{streamId}' has type '{eventType}', which is not registered. Register it with AddEvent, or set StreamDingoOptions.UnknownEventTypes to Skip.")
    {
        StreamId = streamId;
        Version = version;
        EventType = eventType;
    }

    /// <summary>The stream.</summary>
    public string StreamId { get; }

    /// <summary>The event's version.</summary>
    public long Version { get; }

    /// <summary>The stored type name.</summary>
    public string EventType { get; }
}
