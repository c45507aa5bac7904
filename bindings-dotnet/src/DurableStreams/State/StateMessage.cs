using System.Text;
using System.Text.Json;

namespace DurableStreams.State;

/// <summary>Where one JSON value of a message lies (start, length) and what kind of token it starts with; length 0 when absent.</summary>
internal readonly record struct JsonSlice(int Start, int Length, JsonTokenType Kind)
{
    internal bool IsPresent => Length > 0;

    internal bool IsString => Kind == JsonTokenType.String;

    /// <summary>A string token that is <c>""</c>.</summary>
    internal bool IsEmptyString => IsString && Length == 2;

    internal ReadOnlySpan<byte> Of(ReadOnlySpan<byte> json) => json.Slice(Start, Length);

    /// <summary>The string this token holds (unescaped only when it has escapes).</summary>
    internal string GetString(ReadOnlySpan<byte> json)
    {
        var token = Of(json);
        var inner = token[1..^1];
        if (inner.IndexOf((byte)'\\') < 0)
        {
            return Encoding.UTF8.GetString(inner);
        }
        var reader = new Utf8JsonReader(token);
        reader.Read();
        return reader.GetString()!;
    }

    internal string? GetOptionalString(ReadOnlySpan<byte> json) => IsPresent ? GetString(json) : null;

    /// <summary>Whether this string token starts with <paramref name="prefix"/> (ordinal; without allocating when it has no escapes).</summary>
    internal bool StringStartsWith(ReadOnlySpan<byte> json, string prefix, ReadOnlySpan<byte> prefixUtf8)
    {
        var inner = Of(json)[1..^1];
        return inner.IndexOf((byte)'\\') < 0 ? inner.StartsWith(prefixUtf8) : GetString(json).StartsWith(prefix, StringComparison.Ordinal);
    }

    /// <summary>Whether this string token holds exactly <paramref name="utf8"/> (without allocating when it has no escapes).</summary>
    internal bool StringEquals(ReadOnlySpan<byte> json, ReadOnlySpan<byte> utf8)
    {
        var inner = Of(json)[1..^1];
        return inner.IndexOf((byte)'\\') < 0 ? inner.SequenceEqual(utf8) : Encoding.UTF8.GetBytes(GetString(json)).AsSpan().SequenceEqual(utf8);
    }
}

/// <summary>
/// One State Protocol message located in its JSON text by a single <see cref="Utf8JsonReader"/>
/// pass: which kind it is and where each field lies, nothing deserialized or allocated. Fields
/// may come in any order; unknown top-level fields are ignored. <see cref="Parse"/> checks what
/// the protocol requires and names the field at fault, as <c>@durable-streams/state</c> tells a
/// change (<c>headers.operation</c>) from a control message (<c>headers.control</c>).
/// </summary>
internal struct StateMessage
{
    internal bool IsControl;
    internal StateOperation Operation;
    internal ControlKind Control;
    internal JsonSlice Type;
    internal JsonSlice Key;
    internal JsonSlice Value;
    internal JsonSlice OldValue;
    internal JsonSlice Headers;
    internal JsonSlice TxId;
    internal JsonSlice Timestamp;
    internal JsonSlice From;
    internal JsonSlice HeaderOffset;
    internal bool HasExtraHeaders;

    /// <summary>Locates and checks the message.</summary>
    /// <exception cref="StateFormatException">The message is malformed (the field is named).</exception>
    internal static StateMessage Parse(ReadOnlySpan<byte> json)
    {
        var message = default(StateMessage);
        JsonSlice operation = default, control = default;
        int operationIndex = -1, controlIndex = -1;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new StateFormatException(null, "is not a JSON object");
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    message.Type = Next(ref reader);
                }
                else if (reader.ValueTextEquals("key"u8))
                {
                    message.Key = Next(ref reader);
                }
                else if (reader.ValueTextEquals("value"u8))
                {
                    message.Value = Next(ref reader);
                }
                else if (reader.ValueTextEquals("old_value"u8))
                {
                    message.OldValue = Next(ref reader);
                }
                else if (reader.ValueTextEquals("headers"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        message.Headers = Slice(ref reader);
                        continue;
                    }
                    var start = (int)reader.TokenStartIndex;
                    message.HasExtraHeaders = false;
                    operation = control = message.TxId = message.Timestamp = message.From = message.HeaderOffset = default;
                    operationIndex = controlIndex = -1;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("operation"u8))
                        {
                            reader.Read();
                            operationIndex = OperationIndex(ref reader);
                            operation = Slice(ref reader);
                        }
                        else if (reader.ValueTextEquals("control"u8))
                        {
                            reader.Read();
                            controlIndex = ControlIndex(ref reader);
                            control = Slice(ref reader);
                        }
                        else if (reader.ValueTextEquals("txid"u8))
                        {
                            message.TxId = Next(ref reader);
                        }
                        else if (reader.ValueTextEquals("timestamp"u8))
                        {
                            message.Timestamp = Next(ref reader);
                        }
                        else if (reader.ValueTextEquals("from"u8))
                        {
                            message.From = Next(ref reader);
                        }
                        else if (reader.ValueTextEquals("offset"u8))
                        {
                            message.HeaderOffset = Next(ref reader);
                        }
                        else
                        {
                            message.HasExtraHeaders = true;
                            Next(ref reader);
                        }
                    }
                    message.Headers = new JsonSlice(start, (int)reader.BytesConsumed - start, JsonTokenType.StartObject);
                }
                else
                {
                    Next(ref reader);
                }
            }
            // Reading past the object makes the reader refuse anything after it (a stream's messages
            // never have any: the core splits the array; a message given by hand may).
            _ = reader.Read();
        }
        catch (JsonException e)
        {
            throw new StateFormatException(null, $"is not valid JSON: {e.Message}", e);
        }
        message.Check(json, operation, operationIndex, control, controlIndex);
        return message;
    }

    private void Check(ReadOnlySpan<byte> json, JsonSlice operation, int operationIndex, JsonSlice control, int controlIndex)
    {
        if (!Headers.IsPresent)
        {
            throw new StateFormatException("headers", "is missing");
        }
        if (Headers.Kind != JsonTokenType.StartObject)
        {
            throw new StateFormatException("headers", "is not a JSON object");
        }
        switch (operation.IsPresent, control.IsPresent)
        {
            case (true, true):
                throw new StateFormatException("headers", "has both `operation` and `control` (a message is a change or a control message)");
            case (false, false):
                throw new StateFormatException("headers", "has neither `operation` (a change) nor `control` (a control message)");
            case (true, false):
                CheckChange(json, operation, operationIndex);
                break;
            default:
                CheckControl(json, control, controlIndex);
                break;
        }
    }

    private void CheckChange(ReadOnlySpan<byte> json, JsonSlice operation, int operationIndex)
    {
        if (!operation.IsString)
        {
            throw new StateFormatException("headers.operation", "is not a string");
        }
        if (operationIndex < 0)
        {
            throw new StateFormatException("headers.operation", $"is \"{operation.GetString(json)}\", not one of insert, update, delete, upsert");
        }
        Operation = (StateOperation)operationIndex;
        RequireNonEmptyString(Type, "type");
        RequireNonEmptyString(Key, "key");
        if (StateWireNames.RequiresValue(Operation) && !Value.IsPresent)
        {
            throw new StateFormatException("value", $"is missing (required for {StateWireNames.Of(Operation)})");
        }
        OptionalString(TxId, "headers.txid");
        if (TxId.IsEmptyString)
        {
            throw new StateFormatException("headers.txid", "is empty");
        }
        OptionalString(Timestamp, "headers.timestamp");
        OptionalString(From, "headers.from");
        OptionalString(HeaderOffset, "headers.offset");
    }

    private void CheckControl(ReadOnlySpan<byte> json, JsonSlice control, int controlIndex)
    {
        if (!control.IsString)
        {
            throw new StateFormatException("headers.control", "is not a string");
        }
        if (controlIndex < 0)
        {
            throw new StateFormatException("headers.control", $"is \"{control.GetString(json)}\", not one of snapshot-start, snapshot-end, reset");
        }
        IsControl = true;
        Control = (ControlKind)controlIndex;
        OptionalString(HeaderOffset, "headers.offset");
        if (HeaderOffset.IsEmptyString)
        {
            throw new StateFormatException("headers.offset", "is empty");
        }
    }

    private static void RequireNonEmptyString(JsonSlice slice, string field)
    {
        if (!slice.IsPresent)
        {
            throw new StateFormatException(field, "is missing");
        }
        if (!slice.IsString)
        {
            throw new StateFormatException(field, "is not a string");
        }
        if (slice.IsEmptyString)
        {
            throw new StateFormatException(field, "is empty");
        }
    }

    private static void OptionalString(JsonSlice slice, string field)
    {
        if (slice.IsPresent && !slice.IsString)
        {
            throw new StateFormatException(field, "is not a string");
        }
    }

    /// <summary>Moves to the property's value and returns where it lies (skipping a container whole).</summary>
    private static JsonSlice Next(ref Utf8JsonReader reader)
    {
        reader.Read();
        return Slice(ref reader);
    }

    private static JsonSlice Slice(ref Utf8JsonReader reader)
    {
        var start = (int)reader.TokenStartIndex;
        var kind = reader.TokenType;
        reader.Skip();
        return new JsonSlice(start, (int)reader.BytesConsumed - start, kind);
    }

    private static int OperationIndex(ref Utf8JsonReader reader) =>
        reader.TokenType != JsonTokenType.String ? -1
        : reader.ValueTextEquals("insert"u8) ? (int)StateOperation.Insert
        : reader.ValueTextEquals("update"u8) ? (int)StateOperation.Update
        : reader.ValueTextEquals("delete"u8) ? (int)StateOperation.Delete
        : reader.ValueTextEquals("upsert"u8) ? (int)StateOperation.Upsert
        : -1;

    private static int ControlIndex(ref Utf8JsonReader reader) =>
        reader.TokenType != JsonTokenType.String ? -1
        : reader.ValueTextEquals("snapshot-start"u8) ? (int)ControlKind.SnapshotStart
        : reader.ValueTextEquals("snapshot-end"u8) ? (int)ControlKind.SnapshotEnd
        : reader.ValueTextEquals("reset"u8) ? (int)ControlKind.Reset
        : -1;

    /// <summary>The change headers of this message (call only for a change).</summary>
    internal readonly ChangeHeaders ReadHeaders(ReadOnlySpan<byte> json) => new(Operation)
    {
        TxId = TxId.GetOptionalString(json),
        Timestamp = Timestamp.GetOptionalString(json),
        From = From.GetOptionalString(json),
        Offset = HeaderOffset.GetOptionalString(json),
        Extra = HasExtraHeaders ? ReadExtraHeaders(Headers.Of(json)) : null,
    };

    /// <summary>The control message (call only for one).</summary>
    internal readonly ControlEvent ReadControl(ReadOnlySpan<byte> json) => new(Control, HeaderOffset.GetOptionalString(json));

    private static Dictionary<string, JsonElement> ReadExtraHeaders(ReadOnlySpan<byte> headers)
    {
        var extra = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(headers);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            var value = Slice(ref reader);
            if (!StateWireNames.IsKnownChangeHeader(name) && name != "control")
            {
                extra[name] = JsonSerializer.Deserialize(value.Of(headers), StateJsonContext.Default.JsonElement);
            }
        }
        return extra;
    }

    /// <summary>Deserializes the value at <paramref name="slice"/>; the error names <paramref name="field"/>.</summary>
    internal static T? Deserialize<T>(ReadOnlySpan<byte> json, JsonSlice slice, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, string field)
    {
        try
        {
            return JsonSerializer.Deserialize(slice.Of(json), typeInfo);
        }
        catch (JsonException e)
        {
            throw new StateFormatException(field, $"does not deserialize as {typeof(T).Name}: {e.Message}", e);
        }
    }
}
