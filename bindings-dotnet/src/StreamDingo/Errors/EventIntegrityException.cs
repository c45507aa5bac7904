namespace StreamDingo;

/// <summary>A stored event does not match its hash chain: it was changed, removed, reordered or corrupted.</summary>
public sealed class EventIntegrityException : StreamDingoException
{
    /// <summary>An integrity failure at one event.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="version">The version of the event that failed.</param>
    /// <param name="reason">What did not match.</param>
    public EventIntegrityException(string streamId, long version, string reason)
        : base($"Event {version} of stream '{streamId}' failed its integrity check: {reason}.")
    {
        StreamId = streamId;
        Version = version;
        Reason = reason;
    }

    /// <summary>The stream.</summary>
    public string StreamId { get; }

    /// <summary>The version of the event that failed.</summary>
    public long Version { get; }

    /// <summary>What did not match.</summary>
    public string Reason { get; }
}
