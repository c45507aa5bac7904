namespace DurableStreams;

/// <summary>Bytes read from a stream, with the position just past them.</summary>
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
}

/// <summary>Text read from a stream, with the position just past it.</summary>
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
}

/// <summary>The JSON messages of one response, deserialized, with the position just past them.</summary>
/// <typeparam name="T">The message type.</typeparam>
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
}
