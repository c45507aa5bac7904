namespace StreamDingo;

/// <summary>A stored snapshot's state does not hash to the hash stored with it (tampering or corruption), or it does not fit the events it claims to summarise.</summary>
public sealed class SnapshotIntegrityException : StreamDingoException
{
    /// <summary>A snapshot whose state hash does not match.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="version">The snapshot's version.</param>
    /// <param name="storedHash">The hash stored with the snapshot.</param>
    /// <param name="actualHash">The hash of the stored state.</param>
    public SnapshotIntegrityException(string streamId, long version, string storedHash, string actualHash)
        : base($"The snapshot of stream '{streamId}' at version {version} failed its integrity check: its state hashes to {actualHash} but it carries {storedHash} (changed or corrupted after it was taken).")
    {
        StreamId = streamId;
        Version = version;
        StoredHash = storedHash;
        ActualHash = actualHash;
    }

    /// <summary>A snapshot that does not fit the stream's events.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="version">The snapshot's version.</param>
    /// <param name="reason">What did not fit.</param>
    public SnapshotIntegrityException(string streamId, long version, string reason)
        : base($"The snapshot of stream '{streamId}' at version {version} failed its integrity check: {reason}.")
    {
        StreamId = streamId;
        Version = version;
        StoredHash = string.Empty;
        ActualHash = string.Empty;
    }

    /// <summary>The stream.</summary>
    public string StreamId { get; }

    /// <summary>The snapshot's version.</summary>
    public long Version { get; }

    /// <summary>The hash stored with the snapshot (empty when the failure is not a hash mismatch).</summary>
    public string StoredHash { get; }

    /// <summary>The hash of the stored state (empty when the failure is not a hash mismatch).</summary>
    public string ActualHash { get; }
}
