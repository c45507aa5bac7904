using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using global::DurableStreams;

namespace StreamDingo.DurableStreams;

/// <summary>
/// Events on Durable Streams: one <c>application/json</c> stream per aggregate, one JSON envelope per
/// event (<see cref="EventEnvelopeJson"/>), an append of several events is one request (atomic).
/// </summary>
/// <remarks>
/// <para><b>Expected version.</b> Durable Streams has no conditional append, but both servers keep,
/// per stream, the last <c>Stream-Seq</c> they accepted and refuse (409) one that is not strictly
/// greater. Every append carries the version of its first event, zero-padded, as its
/// <c>Stream-Seq</c>, and is only sent after the store has caught up with the stream's tail and found
/// it at the expected version. An append at expected version <c>E</c> carries seq <c>E+1</c>. Every
/// append accepted since the stream's tail was <c>E</c> started at a version above <c>E</c>, so it
/// carried a seq of at least <c>E+1</c>: this one is then refused (409) and nothing of it is written.
/// When none was accepted, the last accepted seq is at most <c>E</c> and this one is stored. So
/// exactly one of several writers racing at one version wins.</para>
/// <para><b>Limits.</b> The guarantee holds only when every writer of the stream goes through this
/// store (or writes the same seqs). A plain append without <c>Stream-Seq</c> is not checked (a store
/// that did not see it may append the same version; readers then report an integrity failure); a
/// foreign append with a higher seq makes the server refuse this store's appends up to that seq
/// (<see cref="StreamDingoException"/> at the true tail). A stream deleted and recreated restarts the server's seq. The server
/// checks seqs, not versions, so an expected version that was never the stream's tail can only be
/// refused because the store catches up first (it always does).</para>
/// </remarks>
public sealed class DurableStreamsEventStore : EventStoreBase
{
    private const int ConflictVisibilityAttempts = 50;
    private static readonly TimeSpan ConflictVisibilityDelay = TimeSpan.FromMilliseconds(10);

    private readonly DurableStreamClient _client;
    private readonly DurableStreamsStoreOptions _options;
    private readonly ConcurrentDictionary<string, CachedTail> _tails = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ReadPositions> _positions = new(StringComparer.Ordinal);
    private long _envelopesRead;

    /// <summary>A store on <paramref name="client"/> (which the caller owns and disposes).</summary>
    /// <param name="context">Types, hashing, options, snapshots, logging.</param>
    /// <param name="client">The Durable Streams client; its base URL is the server's stream prefix.</param>
    /// <param name="options">Paths; the defaults when null.</param>
    public DurableStreamsEventStore(EventStoreContext context, DurableStreamClient client, DurableStreamsStoreOptions? options = null) : base(context)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _options = options ?? new DurableStreamsStoreOptions();
    }

    /// <inheritdoc />
    protected override async ValueTask<StreamTail> ReadTailAsync(string streamId, CancellationToken cancellationToken)
    {
        var cached = _tails.GetValueOrDefault(streamId) ?? CachedTail.Empty;
        var tail = cached;
        try
        {
            // Catch up from where this store last saw the stream.
            await using var response = await Stream(streamId).StreamAsync(new StreamOptions { Offset = cached.Offset }, cancellationToken).ConfigureAwait(false);
            await foreach (var chunk in response.ReadBytesAsync(cancellationToken).ConfigureAwait(false))
            {
                if (chunk.Messages is { Count: > 0 } messages)
                {
                    var last = ReadEnvelope(streamId, messages[^1]);
                    tail = new CachedTail(last.Version, last.Hash, chunk.Offset);
                    if (!chunk.IsPartial)
                    {
                        // A piece's offset is where its response began, before this version: no position for it.
                        RememberPosition(streamId, last.Version, chunk.Offset);
                    }
                }
                else if (chunk.Offset.HasValue)
                {
                    tail = tail with { Offset = chunk.Offset };
                }
            }
        }
        catch (StreamNotFoundException)
        {
            return StreamTail.Empty;
        }
        Remember(streamId, tail);
        return new StreamTail(tail.Version, tail.Hash);
    }

    /// <inheritdoc />
    /// <remarks>
    /// When this store last saw the stream at the expected version (it wrote or read the tail), it
    /// appends without reading first: the append's <c>Stream-Seq</c> is refused if anyone appended
    /// since, so one round trip suffices on the uncontended path.
    /// </remarks>
    protected override ValueTask<StreamTail> ReadTailForAppendAsync(string streamId, long expectedVersion, CancellationToken cancellationToken)
    {
        if (_tails.TryGetValue(streamId, out var cached) && (expectedVersion == ExpectedVersion.Any || cached.Version == expectedVersion))
        {
            return ValueTask.FromResult(new StreamTail(cached.Version, cached.Hash));
        }
        return ReadTailAsync(streamId, cancellationToken);
    }

    /// <inheritdoc />
    protected override async ValueTask<WriteOutcome> WriteAsync(string streamId, long expectedVersion, IReadOnlyList<EventEnvelope> envelopes, CancellationToken cancellationToken)
    {
        var body = Serialize(envelopes);
        var options = new AppendOptions { Seq = StreamSeq.ForFirstVersion(expectedVersion + 1), ContentType = "application/json" };
        var stream = Stream(streamId);
        AppendResult result;
        try
        {
            try
            {
                result = await stream.AppendAsync(body, options, cancellationToken).ConfigureAwait(false);
            }
            catch (StreamNotFoundException) when (expectedVersion == 0)
            {
                // First append of a new aggregate: create its stream (idempotent), then append.
                await stream.CreateAsync(new CreateStreamOptions { ContentType = "application/json" }, cancellationToken).ConfigureAwait(false);
                result = await stream.AppendAsync(body, options, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (StreamConflictException e) when (e.Code == DurableStreamErrorCode.ConflictSeq)
        {
            // A server may accept the winner's seq a moment before its events are readable: wait briefly for them.
            var actual = await ReadTailAsync(streamId, cancellationToken).ConfigureAwait(false);
            for (var attempt = 0; actual.Version <= expectedVersion && attempt < ConflictVisibilityAttempts; attempt++)
            {
                await Task.Delay(ConflictVisibilityDelay, cancellationToken).ConfigureAwait(false);
                actual = await ReadTailAsync(streamId, cancellationToken).ConfigureAwait(false);
            }
            if (actual.Version == expectedVersion)
            {
                // Refused although nobody appended events: some writer used Stream-Seq outside this store's scheme.
                throw new StreamDingoException($"The server refused the append to stream '{streamId}' at version {expectedVersion} (Stream-Seq {options.Seq}) although the stream is at that version: another writer appends to it with a Stream-Seq outside StreamDingo's scheme, so the expected-version check cannot work on this stream.", e);
            }
            return WriteOutcome.Conflict(actual.Version);
        }
        catch (StreamNotFoundException)
        {
            return WriteOutcome.Conflict(0);
        }
        if (result.NextOffset is { } next)
        {
            Remember(streamId, new CachedTail(envelopes[^1].Version, envelopes[^1].Hash, next));
            RememberPosition(streamId, envelopes[^1].Version, next);
        }
        return WriteOutcome.Success;
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<EventEnvelope> ReadEnvelopesAsync(string streamId, long fromVersion = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        // Offsets are opaque: start after the furthest known position before fromVersion (the beginning if none).
        var (start, startAfterVersion) = _positions.TryGetValue(streamId, out var known) ? known.Before(fromVersion) : (Offset.Beginning, 0L);
        while (true)
        {
            StreamResponse response;
            try
            {
                response = await Stream(streamId).StreamAsync(new StreamOptions { Offset = start }, cancellationToken).ConfigureAwait(false);
            }
            catch (StreamNotFoundException)
            {
                yield break;
            }
            catch (DurableStreamException) when (startAfterVersion > 0)
            {
                // A remembered position the server does not take (restored from a snapshot written against another stream): start over.
                ForgetPositions(streamId);
                (start, startAfterVersion) = (Offset.Beginning, 0L);
                continue;
            }
            var restart = false;
            await using (response.ConfigureAwait(false))
            {
                IAsyncEnumerator<ByteChunk> chunks;
                try
                {
                    chunks = response.ReadBytesAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
                }
                catch (StreamNotFoundException)
                {
                    yield break;
                }
                await using (chunks.ConfigureAwait(false))
                {
                    var first = true;
                    EventEnvelope?[]? decodedSlice = null;
                    while (await MoveNextAsync(chunks).ConfigureAwait(false))
                    {
                        var messages = chunks.Current.Messages;
                        if (messages is null || messages.Count == 0)
                        {
                            continue;
                        }
                        Interlocked.Add(ref _envelopesRead, messages.Count);
                        // Decoded slice by slice (in parallel for a large chunk), so only one slice of envelopes is alive at a time.
                        var slice = messages.Count >= ParallelDecodeMinimum && Environment.ProcessorCount > 1 && Context.Options.ParallelReplay ? decodedSlice ??= new EventEnvelope?[DecodeSlice] : null;
                        var sliceStart = 0;
                        EventEnvelope? last = null;
                        for (var i = 0; i < messages.Count; i++)
                        {
                            if (slice is not null && (i == 0 || i - sliceStart == DecodeSlice))
                            {
                                sliceStart = i;
                                DecodeInParallel(streamId, messages, i, Math.Min(DecodeSlice, messages.Count - i), slice);
                            }
                            var envelope = slice is null ? ReadEnvelope(streamId, messages[i]) : slice[i - sliceStart] ?? throw DecodeFailure(streamId, messages[i]);
                            if (first)
                            {
                                first = false;
                                if (startAfterVersion > 0 && envelope.Version != startAfterVersion + 1)
                                {
                                    // A remembered position that does not lead to the next version (the stream was recreated, or a
                                    // position restored from a snapshot is stale or forged). Nothing was returned yet: read from the beginning.
                                    restart = true;
                                    break;
                                }
                            }
                            last = envelope;
                            if (envelope.Version >= fromVersion)
                            {
                                yield return envelope;
                            }
                        }
                        if (restart)
                        {
                            break;
                        }
                        var newest = last!; // the chunk had messages
                        if (!chunks.Current.IsPartial)
                        {
                            // A piece's offset is where its response began, before these versions: no position for it.
                            RememberPosition(streamId, newest.Version, chunks.Current.Offset);
                        }
                        // Only a tail is worth remembering (a response may end inside another writer's batch, which is no tail).
                        if (chunks.Current.UpToDate)
                        {
                            Remember(streamId, new CachedTail(newest.Version, newest.Hash, chunks.Current.Offset));
                        }
                    }
                }
            }
            if (!restart)
            {
                yield break;
            }
            ForgetPositions(streamId);
            (start, startAfterVersion) = (Offset.Beginning, 0L);
        }
    }

    /// <summary>How many stored envelopes this store has decoded from read responses (for tests of where reads start).</summary>
    internal long EnvelopesRead => Interlocked.Read(ref _envelopesRead);

    /// <inheritdoc />
    /// <remarks>The furthest remembered offset before <paramref name="version"/>, as <c>{version}:{offset}</c>: the offset after that version.</remarks>
    protected internal override string? GetReadPosition(string streamId, long version)
    {
        if (!_positions.TryGetValue(streamId, out var known))
        {
            return null;
        }
        var (offset, afterVersion) = known.Before(version);
        return afterVersion > 0 ? string.Create(CultureInfo.InvariantCulture, $"{afterVersion}:{offset.Value}") : null;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Kept like any position this store saw itself; a read started there checks that the first event
    /// it gets is the version after the position's, and reads from the beginning otherwise.
    /// </remarks>
    protected internal override void RestoreReadPosition(string streamId, long version, string position)
    {
        var colon = position.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0
            && long.TryParse(position.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var afterVersion)
            && afterVersion > 0 && afterVersion < version
            && Offset.TryParse(position[(colon + 1)..], out var offset))
        {
            RememberPosition(streamId, afterVersion, offset);
        }
    }

    // A catch-up of a long JSON stream arrives as one chunk of many messages: decode those on several cores.
    private const int ParallelDecodeMinimum = 2048;
    private const int DecodeSlice = 4096;
    // Several small parts per core, so that a descheduled thread holds up little (the others take the remaining parts).
    private static readonly int DecodeParts = Math.Min(Environment.ProcessorCount * 4, 16);

    /// <summary>Decodes <paramref name="count"/> messages from <paramref name="start"/> into <paramref name="decoded"/> in parallel (null for a message that does not decode: the caller reports it in order).</summary>
    private static void DecodeInParallel(string streamId, IReadOnlyList<ReadOnlyMemory<byte>> messages, int start, int count, EventEnvelope?[] decoded)
    {
        Parallel.For(0, DecodeParts, part =>
        {
            var end = (int)((long)count * (part + 1) / DecodeParts);
            for (var i = (int)((long)count * part / DecodeParts); i < end; i++)
            {
                try
                {
                    decoded[i] = EventEnvelopeJson.Read(streamId, messages[start + i].Span);
                }
                catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
                {
                    decoded[i] = null;
                }
            }
        });
    }

    // Decodes again, sequentially, to throw that message's own error.
    private static EventIntegrityException DecodeFailure(string streamId, ReadOnlyMemory<byte> message)
    {
        ReadEnvelope(streamId, message);
        return new EventIntegrityException(streamId, 0, "a stored message is not an event envelope");
    }

    private static async ValueTask<bool> MoveNextAsync(IAsyncEnumerator<ByteChunk> chunks)
    {
        try
        {
            return await chunks.MoveNextAsync().ConfigureAwait(false);
        }
        catch (StreamNotFoundException)
        {
            return false;
        }
    }

    private static EventEnvelope ReadEnvelope(string streamId, ReadOnlyMemory<byte> message)
    {
        try
        {
            return EventEnvelopeJson.Read(streamId, message.Span);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new EventIntegrityException(streamId, 0, $"a stored message is not an event envelope ({e.Message})");
        }
    }

    private DurableStream Stream(string streamId) => _client.GetStream(_options.EventStreamPath(streamId));

    // Keeps the furthest tail seen (reads and writes race; versions only grow).
    private void Remember(string streamId, CachedTail tail) =>
        _tails.AddOrUpdate(streamId, tail, (_, existing) => tail.Version >= existing.Version ? tail : existing);

    private void ForgetPositions(string streamId) => _positions.TryRemove(streamId, out _);

    private void RememberPosition(string streamId, long lastVersion, Offset after)
    {
        if (after.HasValue && !after.IsBeginning && !after.IsNow)
        {
            _positions.GetOrAdd(streamId, _ => new ReadPositions()).Add(lastVersion, after);
        }
    }

    // Quotes in the event's JSON become \" rather than \u0022: a stored stream, not HTML.
    private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static ReadOnlyMemory<byte> Serialize(IReadOnlyList<EventEnvelope> envelopes)
    {
        // Sized once (fixed fields about 300 bytes, the data with a little escaping), so the buffer rarely grows.
        var estimate = 2;
        foreach (var envelope in envelopes)
        {
            estimate += 320 + envelope.EventType.Length + envelope.Data.Length * 5 / 4;
        }
        var buffer = new ArrayBufferWriter<byte>(estimate);
        using (var writer = new Utf8JsonWriter(buffer, s_writerOptions))
        {
            writer.WriteStartArray();
            foreach (var envelope in envelopes)
            {
                EventEnvelopeJson.Write(writer, envelope);
            }
            writer.WriteEndArray();
        }
        // The native core copies the bytes before AppendAsync returns: no copy needed here.
        return buffer.WrittenMemory;
    }

    private sealed record CachedTail(long Version, string Hash, Offset Offset)
    {
        public static CachedTail Empty { get; } = new(0, EventHashChain.GenesisHash, Offset.Beginning);
    }
}
