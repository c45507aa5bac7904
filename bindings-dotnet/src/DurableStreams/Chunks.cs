using System.Diagnostics;
using System.Globalization;

namespace DurableStreams;

/// <summary>Bytes read from a stream, with the position just past them.</summary>
/// <param name="Data">The bytes (for JSON streams, the JSON array text of the messages). May be empty on a chunk that only reports <see cref="UpToDate"/> or <see cref="StreamClosed"/>.</param>
/// <param name="Checkpoint">Where to resume after this chunk (offset and cursor): save it as you consume.</param>
/// <param name="UpToDate">Whether this chunk reached the tail of the stream when it was served.</param>
[DebuggerDisplay("{ToString(),nq}")]
public readonly record struct ByteChunk(ReadOnlyMemory<byte> Data, StreamCheckpoint Checkpoint, bool UpToDate)
{
    /// <summary>
    /// For <c>application/json</c> streams, the raw JSON text of each message in this chunk, in
    /// stream order (validated by the native core, not deserialized; slices of <see cref="Data"/>,
    /// not copies); null for other content types. The fastest way to consume JSON messages when
    /// you parse them yourself (for example with <see cref="System.Text.Json.Utf8JsonReader"/>).
    /// </summary>
    public IReadOnlyList<ReadOnlyMemory<byte>>? Messages { get; init; }

    /// <summary>
    /// Whether more of the same server response follows (only with <see cref="StreamOptions.MaxChunkBytes"/>):
    /// <see cref="Checkpoint"/> is then where that response began, so resuming from it reads the
    /// response again from its start.
    /// </summary>
    public bool IsPartial { get; init; }

    /// <summary>Whether the stream is closed and this is its end.</summary>
    public bool StreamClosed { get; init; }

    /// <summary>
    /// The HTTP status of the response this chunk came from: 200, or 204 for a long-poll that ended
    /// without new data (the chunk then only reports <see cref="UpToDate"/> or <see cref="StreamClosed"/>).
    /// Chunks of SSE sessions are 200; 0 on a chunk built by user code. Internal: a protocol detail
    /// the conformance adapter reports (it sees internals: InternalsVisibleTo in DurableStreams.csproj).
    /// </summary>
    internal int StatusCode { get; init; }

    /// <summary>The offset just past this chunk: where to resume.</summary>
    public Offset Offset => Checkpoint.Offset;

    /// <summary>The chunk's fields (the data by size only): <c>ByteChunk { Bytes = 12, Messages = 3, Offset = ..., ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"ByteChunk {{ Bytes = {Data.Length}, Messages = {Display.Value(Messages?.Count)}, Offset = {Offset.Value}, Cursor = {Display.Value(Checkpoint.Cursor)}, UpToDate = {UpToDate}, StreamClosed = {StreamClosed}, IsPartial = {IsPartial} }}");
}

/// <summary>Text read from a stream, with the position just past it.</summary>
/// <param name="Text">The text. A multi-byte character split across chunks is carried over and appears whole in the next chunk's text. May be empty.</param>
/// <param name="Checkpoint">Where to resume after this chunk (offset and cursor).</param>
/// <param name="UpToDate">Whether this chunk reached the tail of the stream when it was served.</param>
[DebuggerDisplay("{ToString(),nq}")]
public readonly record struct TextChunk(string Text, StreamCheckpoint Checkpoint, bool UpToDate)
{
    /// <summary>Whether the stream is closed and this is its end.</summary>
    public bool StreamClosed { get; init; }

    /// <summary>The offset just past this chunk's bytes.</summary>
    public Offset Offset => Checkpoint.Offset;

    /// <summary>The chunk's fields (the text by length only): <c>TextChunk { Length = 5, Offset = ..., ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"TextChunk {{ Length = {Text?.Length ?? 0}, Offset = {Offset.Value}, Cursor = {Display.Value(Checkpoint.Cursor)}, UpToDate = {UpToDate}, StreamClosed = {StreamClosed} }}");
}

/// <summary>The JSON messages of one response, deserialized, with the position just past them.</summary>
/// <typeparam name="T">The message type.</typeparam>
/// <param name="Items">The messages, in stream order (a JSON <c>null</c> message is a null item). May be empty on a batch that only reports <see cref="UpToDate"/> or <see cref="StreamClosed"/>.</param>
/// <param name="Checkpoint">Where to resume after this batch (offset and cursor): save it as you consume.</param>
/// <param name="UpToDate">Whether this batch reached the tail of the stream when it was served.</param>
[DebuggerDisplay("{ToString(),nq}")]
public readonly record struct JsonBatch<T>(IReadOnlyList<T?> Items, StreamCheckpoint Checkpoint, bool UpToDate)
{
    /// <summary>Whether the stream is closed and this is its end.</summary>
    public bool StreamClosed { get; init; }

    /// <summary>The offset just past these messages.</summary>
    public Offset Offset => Checkpoint.Offset;

    /// <summary>The batch's fields (the messages by count only): <c>JsonBatch&lt;T&gt; { Count = 2, Offset = ..., ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        Display.Of($"JsonBatch<{typeof(T).Name}> {{ Count = {Items?.Count ?? 0}, Offset = {Offset.Value}, Cursor = {Display.Value(Checkpoint.Cursor)}, UpToDate = {UpToDate}, StreamClosed = {StreamClosed} }}");
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

    /// <summary>Header names only (values are typically credentials): <c>[Authorization, X-Trace]</c>, or <c>null</c>.</summary>
    internal static string HeaderNames(IReadOnlyDictionary<string, string>? headers) =>
        headers is null ? "null" : $"[{string.Join(", ", headers.Keys)}]";

    /// <summary>A URL without user info or query values (<c>?sig=&lt;redacted&gt;</c>), or <c>null</c>.</summary>
    internal static string Url(string? url) => string.IsNullOrEmpty(url) ? "null" : Diagnostics.Redaction.Url(url);
}
