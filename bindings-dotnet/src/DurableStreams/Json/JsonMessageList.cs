using System.Collections;
using System.Text.Json;

namespace DurableStreams.Json;

/// <summary>
/// The messages of a JSON chunk as slices of its data (the JSON array text): their bounds come
/// from the native core in one call when the chunk is still native, else from one
/// <see cref="Utf8JsonReader"/> pass on first access. Reading with <c>ReadJson*</c> never touches
/// it, so a consumer that does not look at <see cref="ByteChunk.Messages"/> pays nothing for it.
/// </summary>
internal sealed class JsonMessageList : IReadOnlyList<ReadOnlyMemory<byte>>
{
    private readonly byte[] _data;
    private int[]? _bounds; // start, length, start, length...

    internal JsonMessageList(byte[] data, int count, int[]? bounds = null)
    {
        _data = data;
        Count = count;
        _bounds = bounds;
    }

    /// <summary>The number of messages (known from the native core; no scan needed).</summary>
    public int Count { get; }

    public ReadOnlyMemory<byte> this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            var bounds = _bounds ??= Scan(_data, Count);
            return _data.AsMemory(bounds[2 * index], bounds[(2 * index) + 1]);
        }
    }

    public IEnumerator<ReadOnlyMemory<byte>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The start and length of each element of the array <paramref name="data"/> (validated by the core).</summary>
    private static int[] Scan(byte[] data, int count)
    {
        var bounds = new int[2 * count];
        if (count == 0)
        {
            return bounds;
        }
        var reader = new Utf8JsonReader(data);
        reader.Read(); // [
        for (var i = 0; i < count && reader.Read() && reader.TokenType != JsonTokenType.EndArray; i++)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            bounds[2 * i] = start;
            bounds[(2 * i) + 1] = (int)reader.BytesConsumed - start;
        }
        return bounds;
    }
}
