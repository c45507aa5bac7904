using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StreamDingo;

/// <summary>What every store needs from the configuration: types, hashing, options, the snapshot store, logging and time.</summary>
public sealed class EventStoreContext
{
    /// <summary>A context.</summary>
    /// <param name="types">The registered event and state types.</param>
    /// <param name="snapshotStore">Where snapshots are kept.</param>
    /// <param name="options">The options (validated here).</param>
    /// <param name="hashProvider">The hash function; SHA-256 when null.</param>
    /// <param name="loggerFactory">Logging; none when null.</param>
    /// <param name="timeProvider">The clock for event timestamps; the system clock when null.</param>
    public EventStoreContext(EventTypeRegistry types, ISnapshotStore snapshotStore, StreamDingoOptions? options = null, IHashProvider? hashProvider = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(types);
        ArgumentNullException.ThrowIfNull(snapshotStore);
        Options = options ?? new StreamDingoOptions();
        Options.Validate();
        Types = types;
        HashProvider = hashProvider ?? Sha256HashProvider.Instance;
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        TimeProvider = timeProvider ?? TimeProvider.System;
        Verifier = new IntegrityVerifier(HashProvider);
        Snapshots = new SnapshotManager(snapshotStore, types, Verifier, HashProvider, LoggerFactory.CreateLogger("StreamDingo.Snapshots"), TimeProvider);
    }

    /// <summary>The registered event and state types.</summary>
    public EventTypeRegistry Types { get; }

    /// <summary>The hash function.</summary>
    public IHashProvider HashProvider { get; }

    /// <summary>The options.</summary>
    public StreamDingoOptions Options { get; }

    /// <summary>Logging.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The integrity verifier.</summary>
    public IntegrityVerifier Verifier { get; }

    /// <summary>Snapshot conversion, verification and storage.</summary>
    public SnapshotManager Snapshots { get; }
}
