using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace StreamDingo;

/// <summary>
/// The shared part of every store: serialization, the hash chain, expected-version checks,
/// idempotent retries, verification on read, snapshots, telemetry. A store implements three
/// primitives: <see cref="ReadTailAsync"/>, a conditional <see cref="WriteAsync"/> (atomic, and
/// refused when the stream is not at the version given), and <see cref="ReadEnvelopesAsync"/>.
/// </summary>
public abstract class EventStoreBase : IEventStore
{
    private readonly ILogger _logger;

    /// <summary>A store with the configuration of <paramref name="context"/>.</summary>
    /// <param name="context">Types, hashing, options, snapshots, logging.</param>
    protected EventStoreBase(EventStoreContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Context = context;
        _logger = context.LoggerFactory.CreateLogger(GetType().FullName ?? "StreamDingo.EventStore");
    }

    /// <summary>The configuration.</summary>
    public EventStoreContext Context { get; }

    /// <summary>The stream's last version and hash.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The tail (<see cref="StreamTail.Empty"/> when the stream has no events).</returns>
    protected abstract ValueTask<StreamTail> ReadTailAsync(string streamId, CancellationToken cancellationToken);

    /// <summary>
    /// The tail to chain an append onto. By default <see cref="ReadTailAsync"/>; a store whose
    /// <see cref="WriteAsync"/> refuses a stale expected version by itself may answer from what it
    /// last saw, saving a round trip (a stale answer then only costs a refused write and a retry).
    /// </summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="expectedVersion">The version the caller expects (<see cref="ExpectedVersion.Any"/>: none).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The tail.</returns>
    protected virtual ValueTask<StreamTail> ReadTailForAppendAsync(string streamId, long expectedVersion, CancellationToken cancellationToken) =>
        ReadTailAsync(streamId, cancellationToken);

    /// <summary>Stores the envelopes atomically if and only if the stream is at <paramref name="expectedVersion"/>.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="expectedVersion">The version the first envelope follows.</param>
    /// <param name="envelopes">The envelopes, versions <paramref name="expectedVersion"/> + 1 onwards.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Written, or the version found instead.</returns>
    protected abstract ValueTask<WriteOutcome> WriteAsync(string streamId, long expectedVersion, IReadOnlyList<EventEnvelope> envelopes, CancellationToken cancellationToken);

    /// <inheritdoc />
    public abstract IAsyncEnumerable<EventEnvelope> ReadEnvelopesAsync(string streamId, long fromVersion = 0, CancellationToken cancellationToken = default);

    /// <inheritdoc />
    public async ValueTask<long> GetVersionAsync(string streamId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        return (await ReadTailAsync(streamId, cancellationToken).ConfigureAwait(false)).Version;
    }

    /// <inheritdoc />
    public async ValueTask AppendEventAsync<T>(string streamId, T @event, CancellationToken cancellationToken = default)
        where T : IEvent
    {
        ArgumentNullException.ThrowIfNull(@event);
        await AppendEventsAsync(streamId, ExpectedVersion.Any, [@event], null, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<EventAppendResult> AppendEventsAsync(string streamId, long expectedVersion, IReadOnlyList<IEvent> events, Guid? appendId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            throw new ArgumentException("At least one event is needed.", nameof(events));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(expectedVersion, ExpectedVersion.Any);
        var serialized = new (string Type, byte[] Data)[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i] ?? throw new ArgumentNullException(nameof(events), $"events[{i}] is null.");
            var type = Context.Types.GetEvent(e);
            serialized[i] = (type.Name, type.Serialize(e));
        }
        var retryOfKnownAppend = appendId is not null;
        var id = appendId ?? Guid.NewGuid();

        using var activity = StreamDingoTelemetry.ActivitySource.StartActivity("streamdingo.append", ActivityKind.Internal);
        activity?.SetTag("streamdingo.stream_id", streamId);
        activity?.SetTag("streamdingo.expected_version", expectedVersion);
        activity?.SetTag("streamdingo.event_count", events.Count);

        var attempts = expectedVersion == ExpectedVersion.Any ? Context.Options.MaxAppendAttempts : 1;
        for (var attempt = 1; ; attempt++)
        {
            var tail = attempt == 1
                ? await ReadTailForAppendAsync(streamId, expectedVersion, cancellationToken).ConfigureAwait(false)
                : await ReadTailAsync(streamId, cancellationToken).ConfigureAwait(false);
            if (expectedVersion == ExpectedVersion.Any && retryOfKnownAppend && tail.Version >= events.Count)
            {
                var earlier = await FindStoredAppendAsync(streamId, tail.Version - events.Count, id, events.Count, cancellationToken).ConfigureAwait(false);
                if (earlier is not null)
                {
                    return Done(earlier, activity);
                }
            }
            if (expectedVersion != ExpectedVersion.Any && tail.Version != expectedVersion)
            {
                var earlier = await FindStoredAppendAsync(streamId, expectedVersion, id, events.Count, cancellationToken).ConfigureAwait(false);
                if (earlier is not null)
                {
                    return Done(earlier, activity);
                }
                throw Conflict(streamId, expectedVersion, tail.Version, activity);
            }

            var envelopes = Chain(streamId, tail, id, serialized);
            var outcome = await WriteAsync(streamId, tail.Version, envelopes, cancellationToken).ConfigureAwait(false);
            if (outcome.Written)
            {
                var result = new EventAppendResult(streamId, tail.Version + 1, tail.Version + events.Count, envelopes[^1].Hash, Duplicate: false);
                StreamDingoTelemetry.EventsAppended.Add(events.Count);
                return Done(result, activity);
            }

            // Refused: either another writer won, or this very append was stored by an earlier attempt whose answer was lost.
            var stored = await FindStoredAppendAsync(streamId, tail.Version, id, events.Count, cancellationToken).ConfigureAwait(false);
            if (stored is not null)
            {
                return Done(stored, activity);
            }
            if (attempt >= attempts)
            {
                throw Conflict(streamId, expectedVersion == ExpectedVersion.Any ? tail.Version : expectedVersion, outcome.ActualVersion, activity);
            }
            StreamDingoTelemetry.ConcurrencyConflicts.Add(1);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<IEvent> ReadEventsAsync(string streamId, long fromVersion = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentOutOfRangeException.ThrowIfNegative(fromVersion);
        var first = Math.Max(1, fromVersion);
        string? previous = first == 1 ? EventHashChain.GenesisHash : null;
        var version = first - 1;
        // Read ahead in runs whose content hashes are computed together (IntegrityVerifier.CheckContents), then checked and returned in order.
        const int Run = 256;
        var run = ArrayPool<EventEnvelope>.Shared.Rent(Run);
        var failures = ArrayPool<EventIntegrityException?>.Shared.Rent(Run);
        try
        {
            var count = 0;
            var more = true;
            await using var envelopes = ReadEnvelopesAsync(streamId, first, cancellationToken).GetAsyncEnumerator(cancellationToken);
            while (more)
            {
                count = 0;
                while (count < Run && (more = await envelopes.MoveNextAsync().ConfigureAwait(false)))
                {
                    run[count++] = envelopes.Current;
                }
                Context.Verifier.CheckContents(run.AsSpan(0, count), failures.AsSpan(0, count));
                for (var i = 0; i < count; i++)
                {
                    var envelope = run[i];
                    Verify(envelope, version + 1, previous, failures[i]);
                    previous = envelope.Hash;
                    version = envelope.Version;
                    if (Deserialize(envelope) is { } e)
                    {
                        yield return e;
                    }
                }
            }
        }
        finally
        {
            ArrayPool<EventEnvelope>.Shared.Return(run, clearArray: true);
            ArrayPool<EventIntegrityException?>.Shared.Return(failures, clearArray: true);
        }
    }

    /// <inheritdoc />
    public async ValueTask<Snapshot<T>?> GetLatestSnapshotAsync<T>(string streamId, CancellationToken cancellationToken = default)
        where T : class
    {
        var snapshot = await Context.Snapshots.GetLatestAsync<T>(streamId, cancellationToken).ConfigureAwait(false);
        if (snapshot?.ReadPosition is { } position)
        {
            // A read from the snapshot's version (ReadEventsAsync, ReplayFromSnapshotAsync) then starts there.
            RestoreReadPosition(streamId, snapshot.Version, position);
        }
        return snapshot;
    }

    /// <inheritdoc />
    public ValueTask SaveSnapshotAsync<T>(string streamId, Snapshot<T> snapshot, CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.ReadPosition is null && !string.IsNullOrEmpty(streamId) && GetReadPosition(streamId, snapshot.Version) is { } position)
        {
            snapshot = new Snapshot<T>
            {
                StreamId = snapshot.StreamId,
                Version = snapshot.Version,
                State = snapshot.State,
                Hash = snapshot.Hash,
                CreatedAt = snapshot.CreatedAt,
                HandlerHashes = snapshot.HandlerHashes,
                EventHash = snapshot.EventHash,
                ReadPosition = position,
            };
        }
        return Context.Snapshots.SaveAsync(streamId, snapshot, cancellationToken);
    }

    /// <summary>
    /// A position, recorded in a snapshot at <paramref name="version"/>, from which a later process
    /// can read the event at <paramref name="version"/> without reading the stream from the
    /// beginning (<see cref="Snapshot{T}.ReadPosition"/>). Null by default: a store whose reads
    /// address versions directly, or that knows no such position, needs none.
    /// </summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="version">The snapshot's version.</param>
    /// <returns>The position (opaque to everything but this store), or null.</returns>
    protected internal virtual string? GetReadPosition(string streamId, long version) => null;

    /// <summary>
    /// Takes a position that <see cref="GetReadPosition"/> gave for <paramref name="version"/> (read
    /// back from a snapshot), so that reads from <paramref name="version"/> start there. The position
    /// comes from storage and may be stale or forged: the store must check that what it reads there
    /// is what it expects, and otherwise read from the beginning. Does nothing by default.
    /// </summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="version">The snapshot's version.</param>
    /// <param name="position">The recorded position.</param>
    protected internal virtual void RestoreReadPosition(string streamId, long version, string position)
    {
    }

    /// <summary>Verifies one envelope whose content was already checked (<see cref="IntegrityVerifier.CheckContents"/>): its place, then that result; a failure is counted and logged.</summary>
    internal void Verify(EventEnvelope envelope, long expectedVersion, string? expectedPreviousHash, EventIntegrityException? contentFailure)
    {
        try
        {
            IntegrityVerifier.VerifyPlace(envelope, expectedVersion, expectedPreviousHash);
            if (contentFailure is not null)
            {
                throw contentFailure;
            }
        }
        catch (EventIntegrityException e)
        {
            StreamDingoTelemetry.IntegrityFailures.Add(1);
            Log.IntegrityFailure(_logger, envelope.StreamId, e.Message);
            throw;
        }
    }

    /// <summary>The event of an envelope; null when its type is unknown and the options say skip.</summary>
    internal IEvent? Deserialize(EventEnvelope envelope)
    {
        if (!Context.Types.TryGetEvent(envelope.EventType, out var type))
        {
            if (Context.Options.UnknownEventTypes == UnknownEventTypeHandling.Skip)
            {
                Log.UnknownEventTypeSkipped(_logger, envelope.StreamId, envelope.Version, envelope.EventType);
                return null;
            }
            throw new UnknownEventTypeException(envelope.StreamId, envelope.Version, envelope.EventType);
        }
        try
        {
            return type.Deserialize(envelope.Data);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new StreamDingoException($"Event {envelope.Version} of stream '{envelope.StreamId}' ({envelope.EventType}) could not be deserialized: {e.Message}", e);
        }
    }

    private EventEnvelope[] Chain(string streamId, StreamTail tail, Guid appendId, (string Type, byte[] Data)[] events)
    {
        var timestamp = Context.TimeProvider.GetUtcNow();
        var previous = tail.Hash;
        var envelopes = new EventEnvelope[events.Length];
        for (var i = 0; i < events.Length; i++)
        {
            var version = tail.Version + 1 + i;
            var hash = EventHashChain.Compute(Context.HashProvider, previous, version, events[i].Type, timestamp, appendId, events[i].Data);
            envelopes[i] = new EventEnvelope(streamId, version, events[i].Type, timestamp, appendId, events[i].Data, previous, hash);
            previous = hash;
        }
        return envelopes;
    }

    // The append stored earlier with this id right after afterVersion, if it is there (a retry of a stored append).
    private async ValueTask<EventAppendResult?> FindStoredAppendAsync(string streamId, long afterVersion, Guid appendId, int count, CancellationToken cancellationToken)
    {
        if (afterVersion < 0)
        {
            return null;
        }
        var matched = 0;
        var lastHash = string.Empty;
        await foreach (var envelope in ReadEnvelopesAsync(streamId, afterVersion + 1, cancellationToken).ConfigureAwait(false))
        {
            if (envelope.AppendId != appendId)
            {
                return null;
            }
            lastHash = envelope.Hash;
            if (++matched == count)
            {
                break;
            }
        }
        return matched == count ? new EventAppendResult(streamId, afterVersion + 1, afterVersion + count, lastHash, Duplicate: true) : null;
    }

    private EventAppendResult Done(EventAppendResult result, Activity? activity)
    {
        activity?.SetTag("streamdingo.version", result.LastVersion);
        activity?.SetTag("streamdingo.duplicate", result.Duplicate);
        Log.EventsAppended(_logger, result.StreamId, (int)(result.LastVersion - result.FirstVersion + 1), result.FirstVersion, result.LastVersion, result.Duplicate);
        return result;
    }

    private ConcurrencyException Conflict(string streamId, long expectedVersion, long actualVersion, Activity? activity)
    {
        StreamDingoTelemetry.ConcurrencyConflicts.Add(1);
        Log.ConcurrencyConflict(_logger, streamId, expectedVersion, actualVersion);
        activity?.SetStatus(ActivityStatusCode.Error, "concurrency conflict");
        return new ConcurrencyException(streamId, expectedVersion, actualVersion);
    }
}
