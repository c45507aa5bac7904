using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using DurableStreams.Interop;

namespace DurableStreams.State;

/// <summary>Reads and writes single State Protocol messages (for example one of <see cref="ByteChunk.Messages"/>).</summary>
public static class StateEvents
{
    /// <summary>Parses one message's JSON text, deserializing values with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The value type of changes (<see cref="JsonElement"/> for any JSON).</typeparam>
    /// <param name="json">The message's UTF-8 JSON text.</param>
    /// <param name="jsonTypeInfo">Metadata for <typeparamref name="T"/>.</param>
    /// <returns>The message.</returns>
    /// <exception cref="MalformedStateEventException">The message is not a State Protocol message, or a value does not deserialize; <see cref="MalformedStateEventException.Field"/> names the field.</exception>
    public static StateEvent<T> Parse<T>(ReadOnlySpan<byte> json, JsonTypeInfo<T> jsonTypeInfo)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        try
        {
            return Read(json, StateMessage.Parse(json), jsonTypeInfo);
        }
        catch (StateFormatException e)
        {
            throw e.WithContext(null, null);
        }
    }

    /// <summary>Parses one message's JSON text, deserializing values with <paramref name="options"/> (reflection).</summary>
    /// <typeparam name="T">The value type of changes.</typeparam>
    /// <param name="json">The message's UTF-8 JSON text.</param>
    /// <param name="options">Serializer options; null for the defaults.</param>
    /// <returns>The message.</returns>
    /// <exception cref="MalformedStateEventException">The message is malformed (the field is named).</exception>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    public static StateEvent<T> Parse<T>(ReadOnlySpan<byte> json, JsonSerializerOptions? options = null) =>
        Parse(json, ReflectionTypeInfo<T>(options));

    /// <summary>The JSON text of a change, exactly as it is written to the stream.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="change">The change.</param>
    /// <param name="jsonTypeInfo">Metadata for <typeparamref name="T"/>.</param>
    /// <returns>UTF-8 JSON.</returns>
    /// <exception cref="ArgumentException">The change breaks a rule of the protocol; <see cref="ArgumentException.ParamName"/> names the field.</exception>
    public static byte[] Serialize<T>(ChangeEvent<T> change, JsonTypeInfo<T> jsonTypeInfo)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            StateEventWriter.Write(writer, change, jsonTypeInfo);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The JSON text of a control message, exactly as it is written to the stream.</summary>
    /// <param name="control">The control message.</param>
    /// <returns>UTF-8 JSON.</returns>
    /// <exception cref="ArgumentException">The offset is empty or the kind undefined.</exception>
    public static byte[] Serialize(ControlEvent control)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            StateEventWriter.Write(writer, control);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The typed message of a located one.</summary>
    /// <exception cref="StateFormatException">A value does not deserialize.</exception>
    internal static StateEvent<T> Read<T>(ReadOnlySpan<byte> json, in StateMessage message, JsonTypeInfo<T> typeInfo)
    {
        if (message.IsControl)
        {
            return new StateEvent<T>(message.ReadControl(json));
        }
        var change = new ChangeEvent<T>(message.Operation, message.Type.GetString(json), message.Key.GetString(json))
        {
            Headers = message.ReadHeaders(json),
        };
        if (message.Value.IsPresent)
        {
            change = change with { Value = StateMessage.Deserialize(json, message.Value, typeInfo, "value") };
        }
        if (message.OldValue.IsPresent)
        {
            change = change with { OldValue = StateMessage.Deserialize(json, message.OldValue, typeInfo, "old_value") };
        }
        return new StateEvent<T>(change);
    }

    [RequiresUnreferencedCode("JSON (de)serialization of T may need types that trimming removes; use a JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON (de)serialization of T may need runtime code generation; use a JsonTypeInfo<T> overload.")]
    internal static JsonTypeInfo<T> ReflectionTypeInfo<T>(JsonSerializerOptions? options)
    {
        options ??= JsonDefaults.Options;
        // Exactly what the first JsonSerializer call with these options would do to them.
        options.MakeReadOnly(populateMissingResolver: true);
        return (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
    }
}
