using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace DurableStreams.ConformanceAdapter;

/// <summary>A chunk read from a stream, before it is turned into reply text.</summary>
internal sealed record RawChunk(byte[] Data, string Offset);

/// <summary>Turns read chunks into the reply's <c>chunks</c> array.</summary>
internal static class ChunkText
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool IsJson(string? contentType) =>
        contentType is not null
        && contentType.Split(';')[0].Trim().Equals("application/json", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The compact text of a JSON-mode chunk (a JSON array the package has already parsed and
    /// validated): the bytes exactly as received, minus the insignificant whitespace between
    /// tokens, so key order, number and string spellings are kept. Null when it holds no message.
    /// </summary>
    public static byte[]? CompactJsonArray(ReadOnlySpan<byte> data)
    {
        var output = new ArrayBufferWriter<byte>(Math.Max(16, data.Length));
        var inString = false;
        var escaped = false;
        foreach (var b in data)
        {
            if (inString)
            {
                if (escaped)
                {
                    escaped = false;
                }
                else if (b == (byte)'\\')
                {
                    escaped = true;
                }
                else if (b == (byte)'"')
                {
                    inString = false;
                }
            }
            else if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                continue;
            }
            else if (b == (byte)'"')
            {
                inString = true;
            }
            output.GetSpan(1)[0] = b;
            output.Advance(1);
        }
        var compact = output.WrittenSpan;
        if (compact.Length == 0 || compact.SequenceEqual("[]"u8))
        {
            return null;
        }
        if (compact[0] != (byte)'[' || compact[^1] != (byte)']')
        {
            throw new AdapterException(ErrorCodes.ParseError, "A JSON-mode chunk is not a JSON array.");
        }
        return compact.ToArray();
    }

    /// <summary>JSON-mode chunks, one reply chunk each (live reads).</summary>
    public static JsonArray JsonChunks(IEnumerable<RawChunk> chunks)
    {
        var array = new JsonArray();
        foreach (var chunk in chunks)
        {
            array.Add(new JsonObject { ["data"] = DecodeJson(chunk.Data), ["offset"] = chunk.Offset });
        }
        return array;
    }

    /// <summary>JSON-mode chunks merged into one array (catch-up reads): one reply chunk, or none.</summary>
    public static JsonArray MergedJsonChunk(IReadOnlyList<RawChunk> chunks)
    {
        if (chunks.Count == 0)
        {
            return [];
        }
        var merged = new ArrayBufferWriter<byte>();
        merged.Write("["u8);
        for (var i = 0; i < chunks.Count; i++)
        {
            if (i > 0)
            {
                merged.Write(","u8);
            }
            merged.Write(chunks[i].Data.AsSpan(1, chunks[i].Data.Length - 2));
        }
        merged.Write("]"u8);
        return JsonChunks([new RawChunk(merged.WrittenSpan.ToArray(), chunks[^1].Offset)]);
    }

    /// <summary>
    /// Byte chunks of other streams: text when the bytes are UTF-8, otherwise base64 with
    /// <c>binary: true</c>. A multi-byte character split between two chunks is carried into the
    /// next chunk (the last chunk takes whatever is left).
    /// </summary>
    public static JsonArray ByteChunks(IReadOnlyList<RawChunk> chunks)
    {
        var array = new JsonArray();
        var carry = Array.Empty<byte>();
        for (var i = 0; i < chunks.Count; i++)
        {
            var last = i == chunks.Count - 1;
            var bytes = carry.Length == 0 ? chunks[i].Data : [.. carry, .. chunks[i].Data];
            carry = [];
            var chars = new char[bytes.Length];
            var status = Utf8.ToUtf16(bytes, chars, out var read, out var written, replaceInvalidSequences: false, isFinalBlock: last);
            if (status == OperationStatus.Done || (status == OperationStatus.NeedMoreData && !last))
            {
                carry = bytes[read..];
                array.Add(new JsonObject { ["data"] = new string(chars, 0, written), ["offset"] = chunks[i].Offset });
            }
            else
            {
                array.Add(new JsonObject { ["data"] = Convert.ToBase64String(bytes), ["binary"] = true, ["offset"] = chunks[i].Offset });
            }
        }
        return array;
    }

    /// <summary>All chunks concatenated into one (catch-up reads).</summary>
    public static JsonArray MergedByteChunk(IReadOnlyList<RawChunk> chunks)
    {
        if (chunks.Count == 0)
        {
            return [];
        }
        var total = chunks.Sum(c => c.Data.Length);
        var merged = new byte[total];
        var at = 0;
        foreach (var chunk in chunks)
        {
            chunk.Data.CopyTo(merged, at);
            at += chunk.Data.Length;
        }
        return ByteChunks([new RawChunk(merged, chunks[^1].Offset)]);
    }

    private static string DecodeJson(byte[] data)
    {
        try
        {
            return s_strictUtf8.GetString(data);
        }
        catch (DecoderFallbackException e)
        {
            throw new AdapterException(ErrorCodes.ParseError, $"A JSON chunk is not valid UTF-8: {e.Message}", inner: e);
        }
    }
}
