using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DurableStreams.Json;

/// <summary>
/// Deserializes the elements of a JSON array body in one <see cref="JsonSerializer"/> call over
/// the whole body, as a list (the native core already validated and framed the array): no
/// per-message reader, slice or copy, and no re-scan of each element to find its end (which
/// deserializing element by element from one reader costs).
/// </summary>
internal static class JsonArrayReader
{
    // One list metadata per element metadata, made on first use and kept as long as the element's.
    private static readonly ConditionalWeakTable<JsonTypeInfo, JsonTypeInfo> s_lists = new();

    // The element count of the array being deserialized on this thread (the core counted them):
    // the list is made at its final size, so growing it leaves no garbage behind.
    [ThreadStatic]
    private static int t_capacity;

    /// <summary>The elements of <paramref name="data"/> (a JSON array of <paramref name="count"/> elements, or empty for none), in a new list.</summary>
    /// <exception cref="JsonException">An element does not deserialize as <typeparamref name="T"/> (<see cref="ElementIndex"/> finds which).</exception>
    internal static List<T?> Deserialize<T>(ReadOnlySpan<byte> data, JsonTypeInfo<T> typeInfo, long count)
    {
        if (data.IsEmpty)
        {
            return [];
        }
        var list = (JsonTypeInfo<List<T?>>)s_lists.GetValue(typeInfo, static element => ListOf((JsonTypeInfo<T>)element));
        t_capacity = (int)Math.Clamp(count, 0, Array.MaxLength);
        try
        {
            return JsonSerializer.Deserialize(data, list) ?? throw new JsonException("the chunk is the JSON literal null, not an array");
        }
        finally
        {
            t_capacity = 0;
        }
    }

    /// <summary>The index of the array element a <see cref="JsonException"/> is about (its path starts <c>$[N]</c>), or null.</summary>
    internal static int? ElementIndex(JsonException exception)
    {
        var path = exception.Path;
        if (path is null || !path.StartsWith("$[", StringComparison.Ordinal))
        {
            return null;
        }
        var end = path.IndexOf(']', StringComparison.Ordinal);
        return end > 2 && int.TryParse(path.AsSpan(2, end - 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index) ? index : null;
    }

    private static JsonTypeInfo<List<T?>> ListOf<T>(JsonTypeInfo<T> element) =>
        JsonMetadataServices.CreateListInfo<List<T?>, T?>(
            element.Options,
            new JsonCollectionInfoValues<List<T?>>
            {
                ObjectCreator = static () => new List<T?>(t_capacity),
                ElementInfo = element,
            });
}
