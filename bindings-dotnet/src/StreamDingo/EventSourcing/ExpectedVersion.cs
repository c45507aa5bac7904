namespace StreamDingo;

/// <summary>Special expected versions for <see cref="IEventStore.AppendEventsAsync"/>.</summary>
public static class ExpectedVersion
{
    /// <summary>The stream must have no events yet (version 0).</summary>
    public const long NoStream = 0;

    /// <summary>No check: append after whatever the stream holds (retrying on a race).</summary>
    public const long Any = -1;
}
