namespace DurableStreams.State;

/// <summary>
/// Follows a position message by message through the chunks of a JSON stream read from a
/// <see cref="StateCheckpoint"/>: skips the messages the checkpoint says are already handled
/// (possibly across chunks, as a server may answer the same offset with other response sizes),
/// and gives the exact checkpoint after each message (the chunk's start plus a count inside it,
/// the chunk's own checkpoint after its last message; a piece of a JSON response starts where the
/// piece before it ended, its response's offset plus the messages delivered).
/// </summary>
internal sealed class StatePositionTracker
{
    private StateCheckpoint _nextChunkStart;
    private StateCheckpoint _chunkStart;
    private StateCheckpoint _chunkEnd;
    private int _chunkCount;
    private long _skipRemaining;
    private readonly StateCheckpoint _from;

    internal StatePositionTracker(StateCheckpoint from)
    {
        _from = from;
        Current = from;
        _skipRemaining = from.SkipMessages;
        // The read starts at the offset itself: the checkpoint's messages are skipped here.
        _nextChunkStart = new StateCheckpoint(from.Position);
    }

    /// <summary>The position after everything handled so far.</summary>
    internal StateCheckpoint Current { get; private set; }

    /// <summary>The stream position to read from (the checkpoint's offset and cursor).</summary>
    internal StreamCheckpoint ReadFrom => new(Current.Offset, Current.Position.Cursor);

    /// <summary>
    /// Starts a chunk read from <see cref="Current"/>'s stream position. Returns its messages (empty
    /// for a chunk that only marks up-to-date or the end) and the index of the first one to
    /// handle (after the ones to skip).
    /// </summary>
    /// <exception cref="InvalidOperationException">The chunk is not from a JSON stream.</exception>
    internal int BeginChunk(in ByteChunk chunk, string streamUrl, out IReadOnlyList<ReadOnlyMemory<byte>> messages)
    {
        if (chunk.Messages is { } list)
        {
            messages = list;
        }
        else if (chunk.Data.IsEmpty)
        {
            messages = [];
        }
        else
        {
            throw new InvalidOperationException($"State Protocol messages are read from a JSON stream (application/json), but a chunk of {streamUrl} is not JSON.");
        }
        _chunkStart = _nextChunkStart;
        _chunkEnd = new StateCheckpoint(chunk.Checkpoint);
        _chunkCount = messages.Count;
        var skip = (int)Math.Min(_skipRemaining, _chunkCount);
        _skipRemaining -= skip;
        return skip;
    }

    /// <summary>The position just before message <paramref name="index"/> of the current chunk.</summary>
    internal StateCheckpoint Before(int index) => After(_chunkStart, index);

    /// <summary>The position after message <paramref name="index"/> of the current chunk, without marking it handled.</summary>
    internal StateCheckpoint Peek(int index) => index + 1 == _chunkCount ? _chunkEnd : After(_chunkStart, index + 1);

    private static StateCheckpoint After(StateCheckpoint start, long messages) => new(start.Position, start.SkipMessages + messages);

    /// <summary>Marks message <paramref name="index"/> of the current chunk handled; returns the position after it.</summary>
    internal StateCheckpoint Handled(int index)
    {
        Current = Peek(index);
        return Current;
    }

    /// <summary>
    /// Ends the current chunk (every message in it handled or skipped): moves to its end, or, while
    /// messages of the checkpoint remain to be skipped, to its end plus that count.
    /// </summary>
    /// <exception cref="DurableStreamException">(<see cref="DurableStreamErrorCode.InvalidOffset"/>) The checkpoint counts more messages than the stream holds (a chunk at the tail or the end was reached with messages still to skip).</exception>
    internal void EndChunk(in ByteChunk chunk, string streamUrl)
    {
        Current = After(_chunkEnd, _skipRemaining);
        _nextChunkStart = _chunkEnd;
        if (_skipRemaining > 0 && (chunk.UpToDate || chunk.StreamClosed))
        {
            throw new DurableStreamException($"The state checkpoint {_from} of {streamUrl} is past the stream's data: it counts {_skipRemaining} more messages than the stream holds from there.", DurableStreamErrorCode.InvalidOffset, statusCode: null, streamUrl: streamUrl);
        }
    }
}
