using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DurableStreams.State;

/// <summary>
/// Writes State Protocol messages as JSON with the npm package's field names, after checking what
/// the protocol requires of a writer: non-empty <c>type</c> and <c>key</c>, a <c>value</c> for every
/// operation but delete, a non-empty <c>txid</c>, an RFC 3339 <c>timestamp</c>, no extra header
/// shadowing a protocol header, and a non-empty control <c>offset</c>.
/// </summary>
internal static class StateEventWriter
{
    internal static void Write<T>(Utf8JsonWriter writer, ChangeEvent<T> change, JsonTypeInfo<T> typeInfo)
    {
        Validate(change);
        writer.WriteStartObject();
        writer.WriteString("type"u8, change.EntityType);
        writer.WriteString("key"u8, change.Key);
        if (change.HasValue)
        {
            writer.WritePropertyName("value"u8);
            Serialize(writer, change.Value, typeInfo, "value");
        }
        if (change.HasOldValue)
        {
            writer.WritePropertyName("old_value"u8);
            Serialize(writer, change.OldValue, typeInfo, "old_value");
        }
        var headers = change.Headers;
        writer.WriteStartObject("headers"u8);
        writer.WriteString("operation"u8, StateWireNames.Of(headers.Operation));
        WriteOptional(writer, "txid"u8, headers.TxId);
        WriteOptional(writer, "timestamp"u8, headers.Timestamp);
        WriteOptional(writer, "from"u8, headers.From);
        WriteOptional(writer, "offset"u8, headers.Offset);
        if (headers.Extra is { } extra)
        {
            foreach (var (name, value) in extra)
            {
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    internal static void Write(Utf8JsonWriter writer, ControlEvent control)
    {
        Validate(control);
        writer.WriteStartObject();
        writer.WriteStartObject("headers"u8);
        writer.WriteString("control"u8, StateWireNames.Of(control.Kind));
        WriteOptional(writer, "offset"u8, control.Offset);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Checks a change before it is written.</summary>
    /// <exception cref="ArgumentException">A field the protocol constrains is wrong; <see cref="ArgumentException.ParamName"/> is the field.</exception>
    internal static void Validate<T>(ChangeEvent<T> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (string.IsNullOrEmpty(change.EntityType))
        {
            throw Invalid("type", "cannot be empty");
        }
        if (string.IsNullOrEmpty(change.Key))
        {
            throw Invalid("key", "cannot be empty");
        }
        var headers = change.Headers ?? throw Invalid("headers", "cannot be null");
        if (!Enum.IsDefined(headers.Operation))
        {
            throw Invalid("headers.operation", $"{(int)headers.Operation} is not a StateOperation");
        }
        if (StateWireNames.RequiresValue(headers.Operation) && !change.HasValue)
        {
            throw Invalid("value", $"is required for {StateWireNames.Of(headers.Operation)}");
        }
        if (headers.TxId is { Length: 0 })
        {
            throw Invalid("headers.txid", "cannot be empty");
        }
        if (headers.Timestamp is { } timestamp && !StateTimestamp.IsRfc3339(timestamp))
        {
            throw Invalid("headers.timestamp", $"\"{timestamp}\" is not an RFC 3339 date-time");
        }
        if (headers.Offset is { Length: 0 })
        {
            throw Invalid("headers.offset", "cannot be empty");
        }
        if (headers.Extra is { } extra)
        {
            foreach (var name in extra.Keys)
            {
                if (StateWireNames.IsKnownChangeHeader(name) || name == "control")
                {
                    throw Invalid("headers", $"the extra header \"{name}\" would shadow a protocol header");
                }
            }
        }
    }

    /// <summary>Checks a control message before it is written.</summary>
    /// <exception cref="ArgumentException">The kind is undefined or the offset empty.</exception>
    internal static void Validate(ControlEvent control)
    {
        ArgumentNullException.ThrowIfNull(control);
        if (!Enum.IsDefined(control.Kind))
        {
            throw Invalid("headers.control", $"{(int)control.Kind} is not a ControlKind");
        }
        if (control.Offset is { Length: 0 })
        {
            throw Invalid("headers.offset", "cannot be empty");
        }
    }

    private static void Serialize<T>(Utf8JsonWriter writer, T? value, JsonTypeInfo<T> typeInfo, string field)
    {
        try
        {
            JsonSerializer.Serialize(writer, value!, typeInfo);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            throw new ArgumentException($"{field}: cannot be serialized as JSON with {typeof(T).Name}'s metadata: {e.Message}", field, e);
        }
    }

    private static void WriteOptional(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static ArgumentException Invalid(string field, string problem) => new($"{field}: {problem}.", field);
}
