using System.Diagnostics;
using System.Globalization;

namespace DurableStreams;

/// <summary>Bytes read from a stream, with the position just past them.</summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class ByteChunk
{
    internal ByteChunk(ReadOnlyMemory<byte> data, StreamCheckpoint checkpoint, bool upToDate, bool streamClosed, IReadOnlyList<ReadOnlyMemory<byte>>? messages = null, bool isPartial = false, int statusCode = 200)
    {
        IsPartial = isPartial;
        StatusCode = statusCode;
        Data = data;
        Messages = messages;
        Checkpoint = checkpoint;
        UpToDate = upToDate;
        StreamClosed = streamClosed;
    }

    /// <summary>The bytes (for JSON streams, the JSON array text of the messages). May be empty on a chunk that only reports <see cref="UpToDate"/> or <see cref="StreamClosed"/>.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>
    /// For <c>application/json</c> streams, the raw JSON text of each message in this chunk, in
    /// stream order (validated by the native core, not deserialized; slices of <see cref="Data"/>,
    /// not copies); null for other content types. The fastest way to consume JSON messages when
    /// you parse them yourself (for example with <see cref="System.Text.Json.Utf8JsonReader"/>).
    /// </summary>
    public IReadOnlyList<ReadOnlyMemory<byte>>? Messages { get; }

    /// <summary>
    /// Whether more of the same server response follows (only with <see cref="StreamOptions.MaxChunkBytes"/>):
    /// <see cref="Checkpoint"/> is then where that response began, so resuming from it reads the
    /// response again from its start.
    /// </summary>
    public bool IsPartial { get; }

    /// <summary>
    /// The HTTP status of the response this chunk came from: 200, or 204 for a long-poll that ended
    /// without new data (the chunk then only reports <see cref="UpToDate"/> or <see cref="StreamClosed"/>).
    /// Chunks of SSE sessions are 200. Internal: a protocol detail the conformance adapter reports
    /// (it sees internals: InternalsVisibleTo in DurableStreams.csproj).
    /// </summary>
    internal int StatusCode { get; }

    /// <summary>The offset just past this chunk: where to resume.</summary>
    public Offset Offset => Checkpoint.Offset;

    /// <summary>Where to resume after this chunk (offset and cursor): save it as you consume.</summary>
    public StreamCheckpoint Checkpoint { get; }

    /// <summary>Whether this chunk reached the tail of the stream when it was served.</summary>
    public bool UpToDate { get; }

    /// <summary>Whether the stream is closed and this is its end.</summary>
    public bool StreamClosed { get; }

    /// <summary>The chunk's fields (the data by size only): <c>ByteChunk { Bytes = 12, Messages = 3, Offset = ..., ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"ByteChunk {{ Bytes = {Data.Length}, Messages = {Display.Value(Messages?.Count)}, Offset = {Offset.Value}, Cursor = {Display.Value(Checkpoint.Cursor)}, UpToDate = {UpToDate}, StreamClosed = {StreamClosed}, IsPartial = {IsPartial} }}");
}

/// <summary>Text read from a stream, with the position just past it.</summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class TextChunk
{
    internal TextChunk(string text, StreamCheckpoint checkpoint, bool upToDate, bool streamClosed)
    {
        Text = text;
        Checkpoint = checkpoint;
        UpToDate = upToDate;
        StreamClosed = streamClosed;
    }

    /// <summary>
    /// The text. A multi-byte character split across chunks is carried over and appears whole in
    /// the next chunk's text. May be empty.
    /// </summary>
    public string Text { get; }

    /// <summary>The offset just past this chunk's bytes.</summary>
    public Offset Offset => Checkpoint.Offset;

    /// <summary>Where to resume after this chunk (offset and cursor).</summary>
    public StreamCheckpoint Checkpoint { get; }

    /// <summary>Whether this chunk reached the tail of the stream when it was served.</summary>
    public bool UpToDate { get; }

    /// <summary>Whether the stream is closed and this is its end.</summary>
    public bool StreamClosed { get; }

    /// <summary>The chunk's fields (the text by length only): <c>TextChunk { Length = 5, Offset = ..., ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"TextChunk {{ Length = {Text.Length}, Offset = {Offset.Value}, Cursor = {Display.Value(Checkpoint.Cursor)}, UpToDate = {UpToDate}, StreamClosed = {StreamClosed} }}");
}

/// <summary>The JSON messages of one response, deserialized, with the position just past them.</summary>
/// <typeparam name="T">The message type.</typeparam>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class JsonBatch<T>
{
    internal JsonBatch(IReadOnlyList<T> items, StreamCheckpoint checkpoint, bool upToDate, bool streamClosed)
    {
        Items = items;
        Checkpoint = checkpoint;
        UpToDate = upToDate;
        StreamClosed = streamClosed;
    }

    /// <summary>The messages, in stream order. May be empty on a batch that only reports <see cref="UpToDate"/> or <see cref="StreamClosed"/>.</summary>
    public IReadOnlyList<T> Items { get; }

    /// <summary>The offset just past these messages.</summary>
    public Offset Offset => Checkpoint.Offset;

    /// <summary>Where to resume after this batch (offset and cursor): save it as you consume.</summary>
    public StreamCheckpoint Checkpoint { get; }

    /// <summary>Whether this batch reached the tail of the stream when it was served.</summary>
    public bool UpToDate { get; }

    /// <summary>Whether the stream is closed and this is its end.</summary>
    public bool StreamClosed { get; }

    /// <summary>The batch's fields (the messages by count only): <c>JsonBatch&lt;T&gt; { Count = 2, Offset = ..., ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"JsonBatch<{typeof(T).Name}> {{ Count = {Items.Count}, Offset = {Offset.Value}, Cursor = {Display.Value(Checkpoint.Cursor)}, UpToDate = {UpToDate}, StreamClosed = {StreamClosed} }}");
}

/// <summary>
/// Formats the <c>ToString()</c>/<c>DebuggerDisplay</c> texts of the read-side types:
/// <c>Type { Field = value, ... }</c>, invariant culture, <c>null</c> for missing values. Never
/// secrets: URLs go through <see cref="Diagnostics.Redaction"/>, data is shown by size only.
/// </summary>
internal static class Display
{
    internal static string Of(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>A value, or <c>null</c>.</summary>
    internal static string Value(object? value) => value switch
    {
        null => "null",
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
        Offset o => o.Value,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "null",
    };

    /// <summary>A URL without user info or query values (<c>?sig=&lt;redacted&gt;</c>), or <c>null</c>.</summary>
    internal static string Url(string? url) => string.IsNullOrEmpty(url) ? "null" : Diagnostics.Redaction.Url(url);
}
