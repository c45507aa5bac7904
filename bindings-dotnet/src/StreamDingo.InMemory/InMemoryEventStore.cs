using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace StreamDingo.InMemory;

/// <summary>
/// Events in process memory. Each stream is a list guarded by its own lock, so the expected-version
/// check and the write are one step: exactly one of several racing writers at the same version wins.
/// Everything is lost when the process ends.
/// </summary>
public sealed class InMemoryEventStore : EventStoreBase
{
    private readonly ConcurrentDictionary<string, List<EventEnvelope>> _streams;

    /// <summary>A store with the configuration of <paramref name="context"/>.</summary>
    /// <param name="context">Types, hashing, options, snapshots, logging.</param>
    public InMemoryEventStore(EventStoreContext context) : base(context)
    {
        _streams = new(StringComparer.Ordinal);
    }

    /// <summary>A store over the same events as <paramref name="shareEventsWith"/>, with another configuration (two applications, or two versions of one, over one event store).</summary>
    /// <param name="context">Types, hashing, options, snapshots, logging.</param>
    /// <param name="shareEventsWith">The store whose events this one reads and writes.</param>
    public InMemoryEventStore(EventStoreContext context, InMemoryEventStore shareEventsWith) : base(context)
    {
        ArgumentNullException.ThrowIfNull(shareEventsWith);
        _streams = shareEventsWith._streams;
    }

    /// <summary>The ids of the streams that have events.</summary>
    public IReadOnlyCollection<string> StreamIds => _streams.Keys.ToList();

    /// <inheritdoc />
    protected override ValueTask<StreamTail> ReadTailAsync(string streamId, CancellationToken cancellationToken)
    {
        if (!_streams.TryGetValue(streamId, out var events))
        {
            return ValueTask.FromResult(StreamTail.Empty);
        }
        lock (events)
        {
            return ValueTask.FromResult(events.Count == 0 ? StreamTail.Empty : new StreamTail(events[^1].Version, events[^1].Hash));
        }
    }

    /// <inheritdoc />
    protected override ValueTask<WriteOutcome> WriteAsync(string streamId, long expectedVersion, IReadOnlyList<EventEnvelope> envelopes, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var events = _streams.GetOrAdd(streamId, _ => []);
        lock (events)
        {
            if (events.Count != expectedVersion)
            {
                return ValueTask.FromResult(WriteOutcome.Conflict(events.Count));
            }
            events.AddRange(envelopes);
            return ValueTask.FromResult(WriteOutcome.Success);
        }
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<EventEnvelope> ReadEnvelopesAsync(string streamId, long fromVersion = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        if (!_streams.TryGetValue(streamId, out var events))
        {
            yield break;
        }
        EventEnvelope[] copy;
        lock (events)
        {
            var start = (int)Math.Min(Math.Max(fromVersion, 1) - 1, events.Count);
            copy = events.GetRange(start, events.Count - start).ToArray();
        }
        foreach (var envelope in copy)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return envelope;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>Replaces a stored event as it is, without recomputing any hash: lets tests show that tampering is detected.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="version">The version of the event to replace.</param>
    /// <param name="change">Produces the replacement from the stored envelope.</param>
    public void TamperWith(string streamId, long version, Func<EventEnvelope, EventEnvelope> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var events = _streams[streamId];
        lock (events)
        {
            events[(int)version - 1] = change(events[(int)version - 1]);
        }
    }
}
