using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace StreamDingo;

/// <summary>Turns snapshots into stored records and back, verifying each record's state hash before it is deserialized.</summary>
public sealed class SnapshotManager
{
    private readonly EventTypeRegistry _types;
    private readonly IntegrityVerifier _verifier;
    private readonly IHashProvider _hashProvider;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;

    internal SnapshotManager(ISnapshotStore store, EventTypeRegistry types, IntegrityVerifier verifier, IHashProvider hashProvider, ILogger logger, TimeProvider timeProvider)
    {
        Store = store;
        _types = types;
        _verifier = verifier;
        _hashProvider = hashProvider;
        _logger = logger;
        _timeProvider = timeProvider;
    }

    /// <summary>The underlying snapshot store.</summary>
    public ISnapshotStore Store { get; }

    /// <summary>Builds and stores a snapshot of <paramref name="state"/>.</summary>
    /// <typeparam name="T">The state type (registered).</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="state">The state.</param>
    /// <param name="version">The version of the last event folded into it.</param>
    /// <param name="eventHash">That event's chain hash.</param>
    /// <param name="handlerHashes">The handler hashes that built it.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored snapshot.</returns>
    public ValueTask<Snapshot<T>> CreateAsync<T>(string streamId, T state, long version, string eventHash, Dictionary<string, string> handlerHashes, CancellationToken cancellationToken = default)
        where T : class => CreateAsync(streamId, state, version, eventHash, handlerHashes, null, cancellationToken);

    /// <summary>Builds and stores a snapshot of <paramref name="state"/>, with the event store's read position for its last event.</summary>
    /// <typeparam name="T">The state type (registered).</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="state">The state.</param>
    /// <param name="version">The version of the last event folded into it.</param>
    /// <param name="eventHash">That event's chain hash.</param>
    /// <param name="handlerHashes">The handler hashes that built it.</param>
    /// <param name="readPosition">Where the event store can start reading to reach the event at <paramref name="version"/> (<see cref="Snapshot{T}.ReadPosition"/>); null when unknown.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored snapshot.</returns>
    public async ValueTask<Snapshot<T>> CreateAsync<T>(string streamId, T state, long version, string eventHash, Dictionary<string, string> handlerHashes, string? readPosition, CancellationToken cancellationToken = default)
        where T : class
    {
        var snapshot = new Snapshot<T>
        {
            StreamId = streamId,
            Version = version,
            State = state,
            CreatedAt = _timeProvider.GetUtcNow().UtcDateTime,
            HandlerHashes = handlerHashes,
            EventHash = eventHash,
            ReadPosition = readPosition,
        };
        var record = ToRecord(streamId, snapshot);
        await SaveRecordAsync(record, cancellationToken).ConfigureAwait(false);
        return new Snapshot<T>
        {
            StreamId = snapshot.StreamId,
            Version = snapshot.Version,
            State = snapshot.State,
            Hash = record.Hash,
            CreatedAt = snapshot.CreatedAt,
            HandlerHashes = snapshot.HandlerHashes,
            EventHash = snapshot.EventHash,
            ReadPosition = snapshot.ReadPosition,
        };
    }

    /// <summary>Stores a snapshot given by the caller (the state hash is computed; a non-empty <see cref="Snapshot{T}.Hash"/> must match it).</summary>
    /// <typeparam name="T">The state type (registered).</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when it is stored.</returns>
    /// <exception cref="SnapshotIntegrityException">The snapshot's hash is not the hash of its state.</exception>
    public ValueTask SaveAsync<T>(string streamId, Snapshot<T> snapshot, CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(snapshot.State);
        var record = ToRecord(streamId, snapshot);
        if (snapshot.Hash.Length > 0 && !string.Equals(snapshot.Hash, record.Hash, StringComparison.OrdinalIgnoreCase))
        {
            throw new SnapshotIntegrityException(streamId, snapshot.Version, snapshot.Hash, record.Hash);
        }
        return SaveRecordAsync(record, cancellationToken);
    }

    /// <summary>The newest snapshot for <typeparamref name="T"/>, verified; null when there is none.</summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The snapshot, or null.</returns>
    /// <exception cref="SnapshotIntegrityException">The newest snapshot's state does not match its hash.</exception>
    public async ValueTask<Snapshot<T>?> GetLatestAsync<T>(string streamId, CancellationToken cancellationToken = default)
        where T : class
    {
        await foreach (var snapshot in ReadNewestFirstAsync<T>(streamId, cancellationToken).ConfigureAwait(false))
        {
            return snapshot;
        }
        return null;
    }

    /// <summary>The snapshots for <typeparamref name="T"/>, newest first, each verified before it is deserialized.</summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The snapshots.</returns>
    /// <exception cref="SnapshotIntegrityException">A snapshot's state does not match its hash (reported when it is reached).</exception>
    public async IAsyncEnumerable<Snapshot<T>> ReadNewestFirstAsync<T>(string streamId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        var stateType = _types.GetState<T>();
        await foreach (var record in Store.ReadNewestFirstAsync(streamId, stateType.Name, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                _verifier.VerifySnapshot(record);
            }
            catch (SnapshotIntegrityException e)
            {
                StreamDingoTelemetry.IntegrityFailures.Add(1);
                Log.IntegrityFailure(_logger, streamId, e.Message);
                throw;
            }
            yield return new Snapshot<T>
            {
                StreamId = record.StreamId,
                Version = record.Version,
                State = (T)stateType.Deserialize(record.State),
                Hash = record.Hash,
                CreatedAt = record.CreatedAt,
                HandlerHashes = new Dictionary<string, string>(record.HandlerHashes, StringComparer.Ordinal),
                EventHash = record.EventHash,
                ReadPosition = record.ReadPosition,
            };
        }
    }

    /// <summary>The hash of a state as it would be stored.</summary>
    /// <typeparam name="T">The state type.</typeparam>
    /// <param name="state">The state.</param>
    /// <returns>The hash (lowercase hexadecimal).</returns>
    public string ComputeStateHash<T>(T state)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(state);
        return _hashProvider.ComputeHashHex(_types.GetState<T>().Serialize(state));
    }

    private SnapshotRecord ToRecord<T>(string streamId, Snapshot<T> snapshot)
        where T : class
    {
        var stateType = _types.GetState<T>();
        var bytes = stateType.Serialize(snapshot.State);
        var hash = _hashProvider.ComputeHashHex(bytes);
        var createdAt = snapshot.CreatedAt == default ? _timeProvider.GetUtcNow().UtcDateTime : snapshot.CreatedAt;
        return new SnapshotRecord(streamId, stateType.Name, snapshot.Version, bytes, hash, createdAt, new Dictionary<string, string>(snapshot.HandlerHashes, StringComparer.Ordinal), snapshot.EventHash)
        {
            ReadPosition = snapshot.ReadPosition,
        };
    }

    private async ValueTask SaveRecordAsync(SnapshotRecord record, CancellationToken cancellationToken)
    {
        using var activity = StreamDingoTelemetry.ActivitySource.StartActivity("streamdingo.snapshot");
        activity?.SetTag("streamdingo.stream_id", record.StreamId);
        activity?.SetTag("streamdingo.version", record.Version);
        await Store.SaveAsync(record, cancellationToken).ConfigureAwait(false);
        StreamDingoTelemetry.SnapshotsCreated.Add(1);
        Log.SnapshotSaved(_logger, record.StreamId, record.StateType, record.Version);
    }
}
