using System.Runtime.CompilerServices;
using System.Text;
using DurableStreams.Interop;

namespace DurableStreams;

// StreamResponse: UTF-8 text consumers: strict decoding, with characters split across chunks carried over.
public partial class StreamResponse
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads until up to date (or the end) and returns the data as UTF-8 text.</summary>
    /// <param name="cancellationToken">Cancels the read (and ends the session).</param>
    /// <returns>The text.</returns>
    /// <exception cref="DurableStreamException">The data is not valid UTF-8 (<see cref="DurableStreamErrorCode.ParseError"/>).</exception>
    public virtual async Task<string> ReadAllTextAsync(CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadAllTextAsync));
        var decoder = s_strictUtf8.GetDecoder();
        var text = new StringBuilder();
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            var last = chunk.UpToDate || chunk.Closed;
            text.Append(chunk.Read(data => Decode(decoder, data, flush: last, chunk)));
            if (last)
            {
                return text.ToString();
            }
        }
        text.Append(Decode(decoder, Array.Empty<byte>(), flush: true, null));
        return text.ToString();
    }

    /// <summary>
    /// Iterates over the stream as UTF-8 text. A multi-byte character split across chunks is
    /// decoded intact (it appears in the chunk that completes it).
    /// </summary>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The text chunks.</returns>
    /// <exception cref="DurableStreamException">The data is not valid UTF-8 (<see cref="DurableStreamErrorCode.ParseError"/>).</exception>
    public virtual async IAsyncEnumerable<TextChunk> ReadTextAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadTextAsync));
        var decoder = s_strictUtf8.GetDecoder();
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            var text = chunk.Read(data => Decode(decoder, data, flush: chunk.Closed, chunk));
            yield return new TextChunk(text, chunk.Checkpoint, chunk.UpToDate) { StreamClosed = chunk.Closed };
        }
        // The session ended: bytes of an incomplete character left over are invalid.
        Decode(decoder, Array.Empty<byte>(), flush: true, null);
    }

    private string Decode(Decoder decoder, ReadOnlySpan<byte> data, bool flush, ChunkData? chunk)
    {
        try
        {
            var count = decoder.GetCharCount(data, flush);
            if (count == 0)
            {
                // Still feed the decoder (it may keep a partial character).
                decoder.GetChars(data, Span<char>.Empty, flush);
                return string.Empty;
            }
            var chars = new char[count];
            var written = decoder.GetChars(data, chars, flush);
            return new string(chars, 0, written);
        }
        catch (DecoderFallbackException e)
        {
            var where = chunk is null ? "at the end of the data" : $"in the chunk ending at offset {chunk.Offset}";
            throw new DurableStreamException(
                $"The data of stream {SafeUrl} is not valid UTF-8 ({where}): {e.Message}",
                DurableStreamErrorCode.ParseError,
                statusCode: null,
                streamUrl: SafeUrl,
                innerException: e);
        }
    }
}
