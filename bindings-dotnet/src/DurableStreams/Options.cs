using System.Diagnostics;
using System.Globalization;

namespace DurableStreams;

/// <summary>How a read continues once it has caught up with the stream's tail.</summary>
public enum LiveMode
{
    /// <summary>Catch-up only: stop at the first up-to-date (or closed) response.</summary>
    Off = 0,

    /// <summary>Catch up, then wait for new data with HTTP long-poll requests (server timeout, then re-poll).</summary>
    LongPoll = 1,

    /// <summary>Server-Sent Events: one persistent connection, reconnecting from the last offset as needed.</summary>
    Sse = 2,

    /// <summary>
    /// Catch up, then tail live: Server-Sent Events for JSON (<c>application/json</c>) streams and
    /// long-poll for every other content type; a JSON stream falls back to long-poll if the server
    /// refuses SSE.
    /// </summary>
    Auto = 3,
}

/// <summary>Where and how to read (<see cref="DurableStream.StreamAsync"/>).</summary>
[DebuggerDisplay("{ToString(),nq}")]
public class StreamOptions
{
    /// <summary>The start position; <see cref="DurableStreams.Offset.Beginning"/> when null.</summary>
    public Offset? Offset
    {
        get => _offset;
        set
        {
            _offset = value;
            // A skip counts from the checkpoint's offset, not from another one.
            _skipBytes = 0;
            _skipMessages = 0;
        }
    }

    private Offset? _offset;
    private long _skipBytes;
    private long _skipMessages;

    /// <summary>
    /// A saved checkpoint to resume from. Setting it sets <see cref="Offset"/> and
    /// <see cref="Cursor"/> (and remembers its <see cref="StreamCheckpoint.SkipBytes"/> or
    /// <see cref="StreamCheckpoint.SkipMessages"/>, so a read resumed after a piece of a response
    /// continues exactly after it); reading it returns them as a checkpoint (null when
    /// <see cref="Offset"/> is null).
    /// </summary>
    public StreamCheckpoint? Checkpoint
    {
        get => Offset is { } offset ? new StreamCheckpoint(offset, Cursor) { SkipBytes = _skipBytes, SkipMessages = _skipMessages } : null;
        set
        {
            Offset = value?.Offset;
            Cursor = value?.Cursor;
            _skipBytes = value?.SkipBytes ?? 0;
            _skipMessages = value?.SkipMessages ?? 0;
        }
    }

    /// <summary>The bytes to skip from <see cref="Offset"/> (from <see cref="Checkpoint"/>).</summary>
    internal long SkipBytes => _skipBytes;

    /// <summary>The JSON messages to skip from <see cref="Offset"/> (from <see cref="Checkpoint"/>).</summary>
    internal long SkipMessages => _skipMessages;

    /// <summary>The piece size used when <see cref="MaxChunkBytes"/> is null: 64 KiB, below the large-object heap.</summary>
    public const int DefaultMaxChunkBytes = 64 * 1024;

    /// <summary>
    /// Headers sent on every request of this read (catch-up, long-poll and SSE reconnects), on top
    /// of <see cref="DurableStreamClientOptions.DefaultHeaders"/> and dynamic headers (a name here
    /// replaces theirs). They never replace a header the protocol itself sets. Copied when the read starts.
    /// </summary>
    public Dictionary<string, string>? Headers { get; set; }

    /// <summary>What to do after catching up; <see cref="LiveMode.Off"/> by default.</summary>
    public LiveMode Live { get; set; } = LiveMode.Off;

    /// <summary>The cursor saved with the offset (echoed on live requests for CDN collapsing).</summary>
    public string? Cursor { get; set; }

    /// <summary>
    /// The most bytes one chunk holds; null (the default) means <see cref="DefaultMaxChunkBytes"/>
    /// (64 KiB). A server may answer a catch-up of a 1 GiB stream with one 1 GiB response: a
    /// larger response arrives in pieces as it is received, so memory stays bounded whatever the
    /// stream's size, and the next piece is read while you process the current one. All but the
    /// last piece of a response are <see cref="ByteChunk.IsPartial"/>, never up to date or
    /// closed; their checkpoint is exact (the response's offset and
    /// <see cref="StreamCheckpoint.SkipBytes"/>), so resuming from any chunk's checkpoint
    /// continues right after it. JSON streams are cut between messages, never inside one: each
    /// piece's data is a JSON array of whole messages (a message larger than the bound is a piece
    /// of its own) and its checkpoint counts messages (<see cref="StreamCheckpoint.SkipMessages"/>).
    /// <see cref="int.MaxValue"/> returns every response whole. At least 1.
    /// </summary>
    public int? MaxChunkBytes { get; set; }

    /// <summary>The options' fields (header names only, never values): <c>StreamOptions { Offset = ..., Live = ..., Cursor = ..., MaxChunkBytes = ..., Headers = [...] }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"StreamOptions {{ Offset = {Display.Value(Offset)}, Live = {Live}, Cursor = {Display.Value(Cursor)}, MaxChunkBytes = {Display.Value(MaxChunkBytes)}, Headers = {Display.HeaderNames(Headers)} }}");
}

/// <summary>Options of a single append (<see cref="DurableStream.AppendAsync(ReadOnlyMemory{byte}, AppendOptions?, CancellationToken)"/>).</summary>
[DebuggerDisplay("{ToString(),nq}")]
public class AppendOptions
{
    /// <summary>
    /// A writer sequence token (<c>Stream-Seq</c>): must be strictly greater (byte-wise
    /// lexicographically) than the previous one the server accepted, else the append fails with
    /// <see cref="StreamConflictException"/> (<see cref="DurableStreamErrorCode.ConflictSeq"/>).
    /// </summary>
    public string? Seq { get; set; }

    /// <summary>Close the stream atomically with this append (no more appends afterwards).</summary>
    public bool Close { get; set; }

    /// <summary>The content type to send; by default the stream's (learned with one HEAD when unknown).</summary>
    public string? ContentType { get; set; }

    /// <summary>
    /// Headers for this request, on top of <see cref="DurableStreamClientOptions.DefaultHeaders"/>
    /// and dynamic headers (a name here replaces theirs). They never replace a header the protocol
    /// itself sets (<c>Content-Type</c>, <c>Stream-Seq</c>, <c>Stream-Closed</c>...).
    /// </summary>
    public Dictionary<string, string>? Headers { get; set; }

    /// <summary>The options' fields (header names only, never values): <c>AppendOptions { Seq = ..., Close = ..., ContentType = ..., Headers = [...] }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"AppendOptions {{ Seq = {Display.Value(Seq)}, Close = {Close}, ContentType = {Display.Value(ContentType)}, Headers = {Display.HeaderNames(Headers)} }}");
}

/// <summary>The outcome of an append.</summary>
/// <param name="NextOffset">The stream's tail offset after the append (null when the server did not say, e.g. a duplicate a producer resent).</param>
/// <param name="Duplicate">Whether the server recognised the data as already appended (an idempotent producer's retry) and stored nothing.</param>
[DebuggerDisplay("{ToString(),nq}")]
public readonly record struct AppendResult(Offset? NextOffset, bool Duplicate = false)
{
    /// <summary>The stream's tail offset after the append: <see cref="NextOffset"/>, or <c>default</c> when the server did not send one.</summary>
    public Offset Offset => NextOffset ?? default;

    /// <summary>Whether the stream is now closed.</summary>
    public bool StreamClosed { get; init; }

    /// <summary>The result's fields: <c>AppendResult { NextOffset = ..., Duplicate = ..., StreamClosed = ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"AppendResult {{ NextOffset = {Display.Value(NextOffset)}, Duplicate = {Duplicate}, StreamClosed = {StreamClosed} }}");
}

/// <summary>How to close a stream (<see cref="DurableStream.CloseAsync(CloseOptions?, CancellationToken)"/>).</summary>
[DebuggerDisplay("{ToString(),nq}")]
public class CloseOptions
{
    /// <summary>Final data appended atomically with the close; null or empty: close only (then closing an already closed stream succeeds).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "The official client's shape: code written for it assigns a byte[].")]
    public byte[]? Data { get; set; }

    /// <summary>The content type of <see cref="Data"/>; by default the stream's.</summary>
    public string? ContentType { get; set; }

    /// <summary>Headers for this request (see <see cref="AppendOptions.Headers"/>).</summary>
    public Dictionary<string, string>? Headers { get; set; }

    /// <summary>The options' fields (the data by size only, header names only): <c>CloseOptions { Data = 3 bytes, ContentType = ..., Headers = [...] }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"CloseOptions {{ Data = {(Data is { } data ? $"{data.Length} bytes" : "null")}, ContentType = {Display.Value(ContentType)}, Headers = {Display.HeaderNames(Headers)} }}");
}

/// <summary>The outcome of closing a stream.</summary>
/// <param name="FinalOffset">The stream's final tail offset: a reader that reaches it has read everything.</param>
[DebuggerDisplay("{ToString(),nq}")]
public readonly record struct CloseResult(Offset FinalOffset)
{
    /// <summary>The result's field: <c>CloseResult { FinalOffset = ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => Display.Of($"CloseResult {{ FinalOffset = {FinalOffset.Value} }}");
}

/// <summary>How to create a stream (<see cref="DurableStream.CreateAsync"/>).</summary>
[DebuggerDisplay("{ToString(),nq}")]
public class CreateStreamOptions
{
    /// <summary>The stream's content type, e.g. <c>application/json</c> (JSON mode: message boundaries preserved), <c>text/plain</c>; the server's default (usually <c>application/octet-stream</c>) when null. A fork inherits its source's.</summary>
    public string? ContentType { get; set; }

    /// <summary>A sliding time-to-live: the stream expires after being idle this long. Whole seconds, not negative. Exclusive with <see cref="ExpiresAt"/>.</summary>
    public TimeSpan? Ttl { get; set; }

    /// <summary>An absolute expiry time (sent as RFC 3339, whole seconds, UTC). Exclusive with <see cref="Ttl"/>.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>Initial content of the stream (for JSON streams, a JSON value or array of messages).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "The official client's shape: code written for it assigns a byte[].")]
    public byte[]? InitialData { get; set; }

    /// <summary>Create the stream already closed (with <see cref="InitialData"/> as its complete content).</summary>
    public bool Closed { get; set; }

    /// <summary>Create a fork of this source stream (a URL, or a path on the same server) instead of an empty stream.</summary>
    public string? ForkFrom { get; set; }

    /// <summary>For a fork: the divergence point in the source; the source's tail when null.</summary>
    public Offset? ForkOffset { get; set; }

    /// <summary>For a fork: messages (JSON streams) or bytes (other streams) past <see cref="ForkOffset"/> to inherit; not negative.</summary>
    public long? ForkSubOffset { get; set; }

    /// <summary>Headers for this request (see <see cref="AppendOptions.Headers"/>).</summary>
    public Dictionary<string, string>? Headers { get; set; }

    /// <summary>The options' fields (the initial data by size only, the fork source without secrets): <c>CreateStreamOptions { ContentType = ..., ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"CreateStreamOptions {{ ContentType = {Display.Value(ContentType)}, Ttl = {Display.Value(Ttl)}, ExpiresAt = {Display.Value(ExpiresAt)}, InitialData = {(InitialData is { } data ? $"{data.Length} bytes" : "null")}, Closed = {Closed}, ForkFrom = {Display.Url(ForkFrom)}, ForkOffset = {Display.Value(ForkOffset)}, ForkSubOffset = {Display.Value(ForkSubOffset)}, Headers = {Display.HeaderNames(Headers)} }}");

    internal void Validate()
    {
        if (Ttl is { } ttl)
        {
            if (ttl < TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(Ttl), ttl, "Ttl cannot be negative.");
            }
            if (ttl.Ticks % TimeSpan.TicksPerSecond != 0)
            {
                throw new ArgumentException($"Ttl must be a whole number of seconds, got {ttl}.", nameof(Ttl));
            }
        }
        if (Ttl is not null && ExpiresAt is not null)
        {
            throw new ArgumentException("Ttl and ExpiresAt cannot both be set.", nameof(ExpiresAt));
        }
        if (ContentType is not null && string.IsNullOrWhiteSpace(ContentType))
        {
            throw new ArgumentException("ContentType cannot be empty.", nameof(ContentType));
        }
        if (ForkFrom is not null && string.IsNullOrWhiteSpace(ForkFrom))
        {
            throw new ArgumentException("ForkFrom cannot be empty.", nameof(ForkFrom));
        }
        Interop.NativeString.ThrowIfNul(ContentType, nameof(ContentType));
        Interop.NativeString.ThrowIfNul(ForkFrom, nameof(ForkFrom));
        if (ForkFrom is null && (ForkOffset is not null || ForkSubOffset is not null))
        {
            throw new ArgumentException("ForkOffset and ForkSubOffset require ForkFrom.", nameof(ForkFrom));
        }
        if (ForkSubOffset is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ForkSubOffset), ForkSubOffset, "ForkSubOffset cannot be negative.");
        }
    }

    /// <summary>A shallow copy (the options are plain values; <see cref="InitialData"/> is shared, not copied).</summary>
    internal CreateStreamOptions Copy() => (CreateStreamOptions)MemberwiseClone();

    internal static string FormatExpiresAt(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

/// <summary>The outcome of creating a stream.</summary>
public enum CreateStreamResult
{
    /// <summary>The server created the stream (HTTP 201).</summary>
    Created = 0,

    /// <summary>An identical stream already existed (HTTP 200); nothing changed.</summary>
    AlreadyExisted = 1,
}

/// <summary>
/// The outcome of creating a stream with what the server said about it
/// (<see cref="DurableStream.CreateWithDetailsAsync"/>).
/// </summary>
/// <param name="Result">Whether the stream was created or already existed.</param>
/// <param name="NextOffset">The tail offset after any initial content (null if the server did not say).</param>
/// <param name="ContentType">The stream's content type.</param>
/// <param name="StreamClosed">Whether the stream is closed.</param>
[DebuggerDisplay("{ToString(),nq}")]
public readonly record struct CreateStreamDetails(CreateStreamResult Result, Offset? NextOffset, string? ContentType, bool StreamClosed)
{
    /// <summary>Whether the server created the stream (<see cref="Result"/> is <see cref="CreateStreamResult.Created"/>).</summary>
    public bool Created => Result == CreateStreamResult.Created;

    /// <summary>The details' fields: <c>CreateStreamDetails { Result = ..., NextOffset = ..., ContentType = ..., StreamClosed = ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"CreateStreamDetails {{ Result = {Result}, NextOffset = {Display.Value(NextOffset)}, ContentType = {Display.Value(ContentType)}, StreamClosed = {StreamClosed} }}");
}

/// <summary>A stream's metadata (<see cref="DurableStream.HeadAsync"/>).</summary>
/// <param name="Exists">Whether the stream exists (always true on metadata returned by <see cref="DurableStream.HeadAsync"/>, which throws <see cref="StreamNotFoundException"/> for a missing stream).</param>
/// <param name="ContentType">The stream's content type.</param>
/// <param name="Offset">The tail offset: where the next append will land.</param>
/// <param name="ETag">The response's <c>ETag</c>, when the server sent one.</param>
/// <param name="CacheControl">The response's <c>Cache-Control</c>, when the server sent one.</param>
/// <param name="Ttl">The sliding time-to-live, when the stream has one.</param>
/// <param name="ExpiresAt">The absolute expiry time, when the stream has one (and it parses as a date).</param>
/// <param name="StreamClosed">Whether the stream is closed (no more appends).</param>
[DebuggerDisplay("{ToString(),nq}")]
public readonly record struct StreamMetadata(bool Exists, string? ContentType, Offset? Offset, string? ETag, string? CacheControl, TimeSpan? Ttl, DateTimeOffset? ExpiresAt, bool StreamClosed = false)
{
    /// <summary>The <c>Stream-Expires-At</c> header exactly as the server sent it.</summary>
    public string? ExpiresAtRaw { get; init; }

    /// <summary>The metadata's fields: <c>StreamMetadata { Exists = ..., Offset = ..., ContentType = ..., StreamClosed = ..., ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"StreamMetadata {{ Exists = {Exists}, Offset = {Display.Value(Offset)}, ContentType = {Display.Value(ContentType)}, StreamClosed = {StreamClosed}, Ttl = {Display.Value(Ttl)}, ExpiresAt = {Display.Value((object?)ExpiresAt ?? ExpiresAtRaw)}, ETag = {Display.Value(ETag)}, CacheControl = {Display.Value(CacheControl)} }}");
}
