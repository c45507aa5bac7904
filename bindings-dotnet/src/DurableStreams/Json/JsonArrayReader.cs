using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DurableStreams.Json;

/// <summary>
/// Deserializes the elements of a JSON array body with one <see cref="Utf8JsonReader"/> over the
/// whole body: no per-message reader, slice or copy (the native core already validated and
/// framed the array).
/// </summary>
internal static class JsonArrayReader
{
    /// <summary>
    /// Appends each element of <paramref name="data"/> (a JSON array, or empty for none) to
    /// <paramref name="items"/>. On a <see cref="JsonException"/> the elements before the failing
    /// one are in <paramref name="items"/>, so the caller can tell which one failed.
    /// </summary>
    /// <exception cref="JsonException">An element does not deserialize as <typeparamref name="T"/>.</exception>
    internal static void DeserializeInto<T>(ReadOnlySpan<byte> data, JsonTypeInfo<T> typeInfo, List<T?> items)
    {
        if (data.IsEmpty)
        {
            return;
        }
        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("the chunk is not a JSON array");
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            items.Add(JsonSerializer.Deserialize(ref reader, typeInfo));
        }
    }
}
