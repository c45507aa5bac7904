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
public sealed class StreamOptions
{
    /// <summary>The start position; <see cref="DurableStreams.Offset.Beginning"/> when null.</summary>
    public Offset? Offset { get; set; }

    /// <summary>
    /// A saved checkpoint to resume from. Setting it sets <see cref="Offset"/> and
    /// <see cref="Cursor"/>; reading it returns them as a checkpoint (null when <see cref="Offset"/> is null).
    /// </summary>
    public StreamCheckpoint? Checkpoint
    {
        get => Offset is null ? null : new StreamCheckpoint(Offset, Cursor);
        set
        {
            Offset = value?.Offset;
            Cursor = value?.Cursor;
        }
    }

    /// <summary>What to do after catching up; <see cref="LiveMode.Off"/> by default.</summary>
    public LiveMode Live { get; set; } = LiveMode.Off;

    /// <summary>The cursor saved with the offset (echoed on live requests for CDN collapsing).</summary>
    public string? Cursor { get; set; }

    /// <summary>
    /// The most bytes one chunk of a non-JSON stream holds; null (the default): a chunk is one whole
    /// server response, however large (a server may answer a catch-up of a 1 GiB stream with one
    /// 1 GiB response). With a bound, a larger response arrives in pieces as it is received, so
    /// memory stays bounded; all but the last piece are <see cref="ByteChunk.IsPartial"/>: their
    /// checkpoint is where the response began (resuming from it reads the response again) and they
    /// are never up to date or closed. JSON streams are never split. At least 1.
    /// </summary>
    public int? MaxChunkBytes { get; set; }

    /// <summary>The options' fields: <c>StreamOptions { Offset = ..., Live = ..., Cursor = ..., MaxChunkBytes = ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"StreamOptions {{ Offset = {Display.Value(Offset)}, Live = {Live}, Cursor = {Display.Value(Cursor)}, MaxChunkBytes = {Display.Value(MaxChunkBytes)} }}");
}

/// <summary>Options of a single append (<see cref="DurableStream.AppendAsync(ReadOnlyMemory{byte}, AppendOptions?, CancellationToken)"/>).</summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AppendOptions
{
    /// <summary>
    /// A writer sequence token (<c>Stream-Seq</c>): must be strictly greater (byte-wise
    /// lexicographically) than the previous one the server accepted, else the append fails with
    /// <see cref="StreamConflictException"/> (<see cref="DurableStreamErrorCode.SequenceConflict"/>).
    /// </summary>
    public string? Seq { get; set; }

    /// <summary>Close the stream atomically with this append (no more appends afterwards).</summary>
    public bool Close { get; set; }

    /// <summary>The content type to send; by default the stream's (learned with one HEAD when unknown).</summary>
    public string? ContentType { get; set; }

    /// <summary>The options' fields: <c>AppendOptions { Seq = ..., Close = ..., ContentType = ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"AppendOptions {{ Seq = {Display.Value(Seq)}, Close = {Close}, ContentType = {Display.Value(ContentType)} }}");
}

/// <summary>The outcome of an append or close.</summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AppendResult
{
    internal AppendResult(Offset offset, bool streamClosed)
    {
        Offset = offset;
        StreamClosed = streamClosed;
    }

    /// <summary>The stream's tail offset after the append.</summary>
    public Offset Offset { get; }

    /// <summary>Whether the stream is now closed.</summary>
    public bool StreamClosed { get; }

    /// <summary>The result's fields: <c>AppendResult { Offset = ..., StreamClosed = ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"AppendResult {{ Offset = {Offset.Value}, StreamClosed = {StreamClosed} }}");
}

/// <summary>How to create a stream (<see cref="DurableStream.CreateAsync"/>).</summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class CreateStreamOptions
{
    /// <summary>The stream's content type, e.g. <c>application/json</c> (JSON mode: message boundaries preserved), <c>text/plain</c>; the server's default (usually <c>application/octet-stream</c>) when null. A fork inherits its source's.</summary>
    public string? ContentType { get; set; }

    /// <summary>A sliding time-to-live: the stream expires after being idle this long. Whole seconds, not negative. Exclusive with <see cref="ExpiresAt"/>.</summary>
    public TimeSpan? Ttl { get; set; }

    /// <summary>An absolute expiry time (sent as RFC 3339, whole seconds, UTC). Exclusive with <see cref="Ttl"/>.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>Initial content of the stream (for JSON streams, a JSON value or array of messages).</summary>
    public ReadOnlyMemory<byte>? InitialData { get; set; }

    /// <summary>Create the stream already closed (with <see cref="InitialData"/> as its complete content).</summary>
    public bool Closed { get; set; }

    /// <summary>Create a fork of this source stream (a URL, or a path on the same server) instead of an empty stream.</summary>
    public string? ForkFrom { get; set; }

    /// <summary>For a fork: the divergence point in the source; the source's tail when null.</summary>
    public Offset? ForkOffset { get; set; }

    /// <summary>For a fork: messages (JSON streams) or bytes (other streams) past <see cref="ForkOffset"/> to inherit; not negative.</summary>
    public long? ForkSubOffset { get; set; }

    /// <summary>The options' fields (the initial data by size only, the fork source without secrets): <c>CreateStreamOptions { ContentType = ..., ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"CreateStreamOptions {{ ContentType = {Display.Value(ContentType)}, Ttl = {Display.Value(Ttl)}, ExpiresAt = {Display.Value(ExpiresAt)}, InitialData = {(InitialData is { } data ? $"{data.Length} bytes" : "null")}, Closed = {Closed}, ForkFrom = {Display.Url(ForkFrom)}, ForkOffset = {Display.Value(ForkOffset)}, ForkSubOffset = {Display.Value(ForkSubOffset)} }}");

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
[DebuggerDisplay("{ToString(),nq}")]
public sealed class CreateStreamResult
{
    internal CreateStreamResult(bool created, Offset? offset, string? contentType, bool closed)
    {
        Created = created;
        Offset = offset;
        ContentType = contentType;
        Closed = closed;
    }

    /// <summary>True when the stream was created (201); false when an identical stream already existed (200).</summary>
    public bool Created { get; }

    /// <summary>The tail offset after any initial content (null if the server did not say).</summary>
    public Offset? Offset { get; }

    /// <summary>The stream's content type.</summary>
    public string? ContentType { get; }

    /// <summary>Whether the stream is closed.</summary>
    public bool Closed { get; }

    /// <summary>The result's fields: <c>CreateStreamResult { Created = ..., Offset = ..., ContentType = ..., Closed = ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"CreateStreamResult {{ Created = {Created}, Offset = {Display.Value(Offset)}, ContentType = {Display.Value(ContentType)}, Closed = {Closed} }}");
}

/// <summary>A stream's metadata (<see cref="DurableStream.HeadAsync"/>).</summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class StreamMetadata
{
    internal StreamMetadata(Offset offset, string? contentType, bool streamClosed, TimeSpan? ttl, DateTimeOffset? expiresAt, string? expiresAtRaw)
    {
        Offset = offset;
        ContentType = contentType;
        StreamClosed = streamClosed;
        Ttl = ttl;
        ExpiresAt = expiresAt;
        ExpiresAtRaw = expiresAtRaw;
    }

    /// <summary>The tail offset: where the next append will land.</summary>
    public Offset Offset { get; }

    /// <summary>The stream's content type.</summary>
    public string? ContentType { get; }

    /// <summary>Whether the stream is closed (no more appends).</summary>
    public bool StreamClosed { get; }

    /// <summary>The sliding time-to-live, when the stream has one.</summary>
    public TimeSpan? Ttl { get; }

    /// <summary>The absolute expiry time, when the stream has one (and it parses as a date).</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>The <c>Stream-Expires-At</c> header exactly as the server sent it.</summary>
    public string? ExpiresAtRaw { get; }

    /// <summary>The metadata's fields: <c>StreamMetadata { Offset = ..., ContentType = ..., StreamClosed = ..., Ttl = ..., ExpiresAt = ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"StreamMetadata {{ Offset = {Offset.Value}, ContentType = {Display.Value(ContentType)}, StreamClosed = {StreamClosed}, Ttl = {Display.Value(Ttl)}, ExpiresAt = {Display.Value((object?)ExpiresAt ?? ExpiresAtRaw)} }}");
}
