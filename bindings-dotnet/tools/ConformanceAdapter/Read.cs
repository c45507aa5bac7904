using System.Text.Json.Nodes;

namespace DurableStreams.ConformanceAdapter;

internal sealed partial class Adapter
{
    /// <summary>
    /// <c>read</c>: catch-up (one merged chunk) or live (one chunk per response that carries
    /// data) until maxChunks, up-to-date (waitForUpToDate), closure or timeoutMs; a timeout is a
    /// success with what was collected.
    /// </summary>
    private async Task<JsonObject> ReadAsync(Command command, CancellationToken token)
    {
        var path = command.RequireString("path");
        var offsetText = command.OptionalString("offset") ?? "-1";
        if (!Offset.TryParse(offsetText, out var offset))
        {
            throw new AdapterException(ErrorCodes.InvalidOffset, $"Invalid offset \"{offsetText}\" for stream {path}: the client rejects it before sending.");
        }
        var live = command.Get("live") switch
        {
            null => LiveMode.Off,
            { ValueKind: System.Text.Json.JsonValueKind.False } => LiveMode.Off,
            { ValueKind: System.Text.Json.JsonValueKind.True } => LiveMode.Auto,
            { ValueKind: System.Text.Json.JsonValueKind.String } s => s.GetString() switch
            {
                "long-poll" => LiveMode.LongPoll,
                "sse" => LiveMode.Sse,
                "auto" => LiveMode.Auto,
                "false" or "off" => LiveMode.Off,
                var other => throw AdapterException.InvalidArgument("live", $"must be false, true, \"auto\", \"long-poll\" or \"sse\", got \"{other}\""),
            },
            _ => throw AdapterException.InvalidArgument("live", "must be a boolean or a string"),
        };
        var maxChunks = command.OptionalLong("maxChunks") ?? 100;
        if (maxChunks < 1)
        {
            throw AdapterException.InvalidArgument("maxChunks", "must be at least 1");
        }
        var waitForUpToDate = command.Bool("waitForUpToDate");

        var stream = Stream(command, path);
        // An SSE session on a handle that has not learned the content type starts with a HEAD:
        // the values echoed are those of the read request itself.
        var skipRequests = live == LiveMode.Sse && stream.ContentType is null ? 1 : 0;
        var collected = new List<RawChunk>();
        var isJson = false;
        var sawChunk = false;
        var upToDate = false;
        var closed = false;
        string? cursor = null;
        var position = offset.Value;
        var timedOut = false;
        var status = 200;

        _dynamic.StartRecording();
        StreamResponse? response = null;
        try
        {
            response = await stream.StreamAsync(new StreamOptions { Offset = offset, Live = live }, token).ConfigureAwait(false);
            await foreach (var chunk in response.ReadBytesAsync(token).ConfigureAwait(false))
            {
                sawChunk = true;
                status = chunk.StatusCode; // internal to the package, visible to the adapter
                position = chunk.Offset.Value;
                cursor = chunk.Checkpoint.Cursor ?? cursor;
                upToDate = chunk.UpToDate;
                closed |= chunk.StreamClosed;
                isJson = ChunkText.IsJson(response.ContentType ?? KnownContentType(stream, path));
                var data = isJson ? ChunkText.CompactJsonArray(chunk.Data.Span) : chunk.Data.IsEmpty ? null : chunk.Data.ToArray();
                if (data is not null)
                {
                    collected.Add(new RawChunk(data, position));
                }
                if (live == LiveMode.Off)
                {
                    continue; // a catch-up session ends by itself once up to date
                }
                if (closed || (waitForUpToDate && upToDate) || collected.Count >= maxChunks)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            timedOut = true;
        }
        finally
        {
            if (response is not null)
            {
                position = sawChunk ? position : response.Offset.Value;
                await response.DisposeAsync().ConfigureAwait(false);
            }
        }
        if (response?.ContentType is { } learned)
        {
            Remember(path, learned);
        }

        if (timedOut && !sawChunk)
        {
            // Nothing arrived within timeoutMs. A live read from "now" was waiting at the tail;
            // any other read was still waiting for its first response.
            upToDate = offset == Offset.Now && live != LiveMode.Off;
        }

        var chunks = (isJson, live == LiveMode.Off) switch
        {
            (true, true) => ChunkText.MergedJsonChunk(collected),
            (true, false) => ChunkText.JsonChunks(collected),
            (false, true) => ChunkText.MergedByteChunk(collected),
            (false, false) => ChunkText.ByteChunks(collected),
        };
        var (headersSent, paramsSent) = _dynamic.Recorded(last: false, skip: skipRequests);
        return Replies.Success("read")
            .With("status", status)
            .With("chunks", chunks)
            .With("offset", position)
            .With("upToDate", upToDate)
            .With("streamClosed", closed)
            .With("cursor", cursor)
            .With("headersSent", headersSent)
            .With("paramsSent", paramsSent);
    }
}
