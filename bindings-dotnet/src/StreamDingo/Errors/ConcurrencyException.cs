namespace StreamDingo;

/// <summary>An append expected the stream at one version but it is at another: another writer got there first. Nothing was written.</summary>
public sealed class ConcurrencyException : StreamDingoException
{
    /// <summary>A conflict on <paramref name="streamId"/>.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="expectedVersion">The version the writer expected.</param>
    /// <param name="actualVersion">The stream's version the store found.</param>
    public ConcurrencyException(string streamId, long expectedVersion, long actualVersion)
        : base($"Stream '{streamId}' is at version {actualVersion}, not the expected version {expectedVersion}: another writer appended first; nothing was written.")
    {
        StreamId = streamId;
        ExpectedVersion = expectedVersion;
        ActualVersion = actualVersion;
    }

    /// <summary>The stream.</summary>
    public string StreamId { get; }

    /// <summary>The version the writer expected.</summary>
    public long ExpectedVersion { get; }

    /// <summary>The stream's actual version.</summary>
    public long ActualVersion { get; }
}
