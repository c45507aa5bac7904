using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using global::S2.StreamStore;

namespace StreamDingo.S2;

/// <summary>
/// Events on S2: one stream per aggregate, one record per event (its body the JSON envelope,
/// <see cref="EventEnvelopeJson"/>); an append of several events is one S2 append (atomic).
/// </summary>
/// <remarks>
/// <b>Expected version.</b> Every append carries <c>match_seq_num</c>: the stream's next sequence
/// number when this store saw it at the expected version. S2 refuses the append (nothing written)
/// when anything was appended since, so the check is exact for every writer, whether it uses this
/// store or not. Command records (fence, trim) take sequence numbers without being events: after a
/// refusal the store re-reads the tail and retries once when only commands were added. With
/// <see cref="S2StoreOptions.FencingToken"/>, S2 also refuses every writer without the stream's token.
/// </remarks>
public sealed class S2EventStore : EventStoreBase
{
    private readonly Basin _basin;
    private readonly S2StoreOptions _options;
    private readonly ConcurrentDictionary<string, CachedTail> _tails = new(StringComparer.Ordinal);

    /// <summary>A store in <paramref name="basin"/> (whose client the caller owns).</summary>
    /// <param name="context">Types, hashing, options, snapshots, logging.</param>
    /// <param name="basin">The S2 basin.</param>
    /// <param name="options">Names and fencing; the defaults when null.</param>
    public S2EventStore(EventStoreContext context, Basin basin, S2StoreOptions? options = null) : base(context)
    {
        ArgumentNullException.ThrowIfNull(basin);
        _basin = basin;
        _options = options ?? new S2StoreOptions();
    }

    /// <summary>
    /// Fences the aggregate's stream with <paramref name="fencingToken"/> (creating the stream when
    /// missing): from then on only appends carrying it are accepted. Take over an aggregate by fencing
    /// it with your token, then append with that token in <see cref="S2StoreOptions.FencingToken"/>.
    /// </summary>
    /// <param name="streamId">The aggregate.</param>
    /// <param name="fencingToken">The new token.</param>
    /// <param name="currentToken">The stream's current token, when the fence itself must be conditional on it (null: unconditional).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the stream is fenced.</returns>
    public async Task FenceAsync(string streamId, string fencingToken, string? currentToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        using var stream = await EnsureStreamAsync(streamId, cancellationToken).ConfigureAwait(false);
        await stream.FenceAsync(fencingToken, currentToken is null ? null : new AppendOptions { FencingToken = currentToken }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async ValueTask<StreamTail> ReadTailAsync(string streamId, CancellationToken cancellationToken)
    {
        var tail = await RefreshAsync(streamId, cancellationToken).ConfigureAwait(false);
        return new StreamTail(tail.Version, tail.Hash);
    }

    /// <inheritdoc />
    protected override ValueTask<StreamTail> ReadTailForAppendAsync(string streamId, long expectedVersion, CancellationToken cancellationToken)
    {
        // match_seq_num refuses a stale view by itself: no read needed when the cache says the expected version.
        if (_tails.TryGetValue(streamId, out var cached) && (expectedVersion == ExpectedVersion.Any || cached.Version == expectedVersion))
        {
            return ValueTask.FromResult(new StreamTail(cached.Version, cached.Hash));
        }
        return ReadTailAsync(streamId, cancellationToken);
    }

    /// <inheritdoc />
    protected override async ValueTask<WriteOutcome> WriteAsync(string streamId, long expectedVersion, IReadOnlyList<EventEnvelope> envelopes, CancellationToken cancellationToken)
    {
        var records = envelopes.Select(e => new AppendRecord(Serialize(e))).ToArray();
        for (var attempt = 0; ; attempt++)
        {
            var tail = _tails.GetValueOrDefault(streamId) ?? CachedTail.Empty;
            if (tail.Version != expectedVersion)
            {
                tail = await RefreshAsync(streamId, cancellationToken).ConfigureAwait(false);
                if (tail.Version != expectedVersion)
                {
                    return WriteOutcome.Conflict(tail.Version);
                }
            }
            try
            {
                using var stream = expectedVersion == 0
                    ? await EnsureStreamAsync(streamId, cancellationToken).ConfigureAwait(false)
                    : _basin.Stream(_options.EventStreamName(streamId));
                var ack = await stream.AppendAsync(records, new AppendOptions { MatchSeqNum = tail.NextSeq, FencingToken = _options.FencingToken }, cancellationToken).ConfigureAwait(false);
                Remember(streamId, new CachedTail(envelopes[^1].Version, envelopes[^1].Hash, ack.End.SequenceNumber));
                return WriteOutcome.Success;
            }
            catch (SeqNumMismatchException)
            {
                var actual = await RefreshAsync(streamId, cancellationToken).ConfigureAwait(false);
                if (actual.Version != expectedVersion || attempt >= 1)
                {
                    return WriteOutcome.Conflict(actual.Version);
                }
                // Only command records were added (a fence, a trim): same version, new sequence number.
            }
            catch (FencingTokenMismatchException e)
            {
                throw new StreamDingoException($"Stream '{streamId}' is fenced by another writer (token {e.ExpectedFencingToken ?? "unknown"}): this writer may not append to it; nothing was written.", e);
            }
        }
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<EventEnvelope> ReadEnvelopesAsync(string streamId, long fromVersion = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        // An event's sequence number is at least its version - 1 (command records only add numbers): start there.
        var seq = (ulong)Math.Max(0, fromVersion - 1);
        await foreach (var (envelope, _) in ReadFromAsync(streamId, seq, cancellationToken).ConfigureAwait(false))
        {
            if (envelope.Version >= fromVersion)
            {
                yield return envelope;
            }
        }
    }

    private async IAsyncEnumerable<(EventEnvelope Envelope, ulong NextSeq)> ReadFromAsync(string streamId, ulong seq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stream = _basin.Stream(_options.EventStreamName(streamId));
        ulong end;
        try
        {
            end = (await stream.CheckTailAsync(cancellationToken).ConfigureAwait(false)).SequenceNumber;
        }
        catch (global::S2.StreamStore.StreamNotFoundException)
        {
            yield break;
        }
        while (seq < end)
        {
            var batch = await stream.ReadAsync(new ReadOptions { Start = ReadStart.FromSequence(seq), Until = null, Clamp = true }, cancellationToken).ConfigureAwait(false);
            if (batch.Records.Count == 0)
            {
                yield break;
            }
            foreach (var record in batch.Records)
            {
                seq = record.SequenceNumber + 1;
                if (record.IsCommand || record.SequenceNumber >= end)
                {
                    continue;
                }
                yield return (ReadEnvelope(streamId, record), seq);
            }
        }
    }

    private async ValueTask<CachedTail> RefreshAsync(string streamId, CancellationToken cancellationToken)
    {
        var tail = _tails.GetValueOrDefault(streamId) ?? CachedTail.Empty;
        var nextSeq = tail.NextSeq;
        await foreach (var (envelope, next) in ReadFromAsync(streamId, tail.NextSeq, cancellationToken).ConfigureAwait(false))
        {
            tail = new CachedTail(envelope.Version, envelope.Hash, next);
            nextSeq = next;
        }
        // Command records after the last event still move the next sequence number.
        try
        {
            using var stream = _basin.Stream(_options.EventStreamName(streamId));
            nextSeq = Math.Max(nextSeq, (await stream.CheckTailAsync(cancellationToken).ConfigureAwait(false)).SequenceNumber);
        }
        catch (global::S2.StreamStore.StreamNotFoundException)
        {
            return CachedTail.Empty;
        }
        tail = tail with { NextSeq = nextSeq };
        Remember(streamId, tail);
        return tail;
    }

    private async ValueTask<S2Stream> EnsureStreamAsync(string streamId, CancellationToken cancellationToken)
    {
        await _basin.EnsureStreamAsync(_options.EventStreamName(streamId), cancellationToken: cancellationToken).ConfigureAwait(false);
        return _basin.Stream(_options.EventStreamName(streamId));
    }

    private static EventEnvelope ReadEnvelope(string streamId, Record record)
    {
        try
        {
            return EventEnvelopeJson.Read(streamId, record.Body.Span);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new EventIntegrityException(streamId, 0, $"record {record.SequenceNumber} is not an event envelope ({e.Message})");
        }
    }

    private void Remember(string streamId, CachedTail tail) =>
        _tails.AddOrUpdate(streamId, tail, (_, existing) => tail.NextSeq >= existing.NextSeq ? tail : existing);

    private static byte[] Serialize(EventEnvelope envelope)
    {
        var buffer = new ArrayBufferWriter<byte>(320 + envelope.Data.Length * 5 / 4);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            EventEnvelopeJson.Write(writer, envelope);
        }
        return buffer.WrittenSpan.ToArray();
    }

    private sealed record CachedTail(long Version, string Hash, ulong NextSeq)
    {
        public static CachedTail Empty { get; } = new(0, EventHashChain.GenesisHash, 0);
    }
}
