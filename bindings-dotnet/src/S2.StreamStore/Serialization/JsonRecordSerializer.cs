using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace S2.StreamStore.Serialization;

/// <summary>
/// The default <see cref="IRecordSerializer{T}"/>: UTF-8 JSON through System.Text.Json with
/// source-generated metadata (<c>MyJsonContext.Default.MyType</c>), so it is trimming- and
/// NativeAOT-safe.
/// </summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class JsonRecordSerializer<T> : IRecordSerializer<T>
{
    private readonly JsonTypeInfo<T> _typeInfo;

    /// <summary>A serializer over source-generated metadata.</summary>
    /// <param name="typeInfo">The metadata of <typeparamref name="T"/> from a <see cref="System.Text.Json.Serialization.JsonSerializerContext"/>.</param>
    public JsonRecordSerializer(JsonTypeInfo<T> typeInfo) => _typeInfo = typeInfo ?? throw new ArgumentNullException(nameof(typeInfo));

    /// <summary>A serializer using reflection-based metadata from <paramref name="options"/> (not trimming-safe).</summary>
    /// <param name="options">The options (null: <see cref="JsonSerializerOptions.Default"/>).</param>
    [RequiresUnreferencedCode("Reflection-based JSON; use the JsonTypeInfo constructor for trimming and NativeAOT.")]
    [RequiresDynamicCode("Reflection-based JSON; use the JsonTypeInfo constructor for trimming and NativeAOT.")]
    public static JsonRecordSerializer<T> Reflection(JsonSerializerOptions? options = null)
    {
        var resolved = options ?? new JsonSerializerOptions(JsonSerializerDefaults.Web);
        resolved.TypeInfoResolver ??= new DefaultJsonTypeInfoResolver();
        resolved.MakeReadOnly();
        return new JsonRecordSerializer<T>((JsonTypeInfo<T>)resolved.GetTypeInfo(typeof(T)));
    }

    /// <inheritdoc />
    public void Serialize(T value, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        JsonSerializer.Serialize(writer, value, _typeInfo);
    }

    /// <inheritdoc />
    public T Deserialize(ReadOnlySpan<byte> body) => JsonSerializer.Deserialize(body, _typeInfo)!;
}
