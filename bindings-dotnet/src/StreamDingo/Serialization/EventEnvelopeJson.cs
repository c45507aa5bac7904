using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace StreamDingo;

/// <summary>
/// The JSON form of an <see cref="EventEnvelope"/>, for stores that keep JSON:
/// <c>{"version":1,"type":"OrderPlaced","timestamp":"2026-...Z","appendId":"...","previousHash":"...","hash":"...","data":"{\"id\":...}"}</c>.
/// The event's JSON travels as a string, so its exact bytes (which the hash covers) survive any
/// server that re-encodes JSON.
/// </summary>
public static class EventEnvelopeJson
{
    /// <summary>Writes the envelope as one JSON object.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="envelope">The envelope.</param>
    public static void Write(Utf8JsonWriter writer, EventEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(envelope);
        writer.WriteStartObject();
        writer.WriteNumber("version"u8, envelope.Version);
        writer.WriteString("type"u8, envelope.EventType);
        writer.WriteString("timestamp"u8, envelope.Timestamp.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        writer.WriteString("appendId"u8, envelope.AppendId);
        writer.WriteString("previousHash"u8, envelope.PreviousHash);
        writer.WriteString("hash"u8, envelope.Hash);
        writer.WriteString("data"u8, envelope.Data.Span);
        writer.WriteEndObject();
    }

    /// <summary>Reads one envelope.</summary>
    /// <param name="streamId">The stream it belongs to.</param>
    /// <param name="json">One JSON object written by <see cref="Write"/>.</param>
    /// <returns>The envelope.</returns>
    /// <exception cref="JsonException">The JSON is not an envelope (a field is missing or of the wrong kind).</exception>
    public static EventEnvelope Read(string streamId, ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        Expect(ref reader, JsonTokenType.StartObject);
        long? version = null;
        string? type = null, previousHash = null, hash = null;
        DateTimeOffset? timestamp = null;
        Guid? appendId = null;
        ReadOnlyMemory<byte>? data = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            switch (PropertyOf(ref reader))
            {
                case Property.Version:
                    reader.Read();
                    version = reader.GetInt64();
                    break;
                case Property.Type:
                    reader.Read();
                    type = ReuseOrRead(ref reader, ref t_lastType);
                    break;
                case Property.Timestamp:
                    reader.Read();
                    timestamp = reader.TryGetDateTimeOffset(out var parsed)
                        ? parsed
                        : DateTimeOffset.Parse(reader.GetString() ?? string.Empty, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
                    break;
                case Property.AppendId:
                    reader.Read();
                    appendId = reader.GetGuid();
                    break;
                case Property.PreviousHash:
                    reader.Read();
                    // Reading a stream in order, an event's previous hash is the hash just read: share the string.
                    previousHash = ReuseOrRead(ref reader, ref t_lastHash);
                    break;
                case Property.Hash:
                    reader.Read();
                    hash = reader.GetString();
                    t_lastHash = hash;
                    break;
                case Property.Data:
                    reader.Read();
                    data = ReadStringMemory(ref reader);
                    break;
                default:
                    reader.Read();
                    reader.Skip();
                    break;
            }
        }
        return new EventEnvelope(
            streamId,
            version ?? throw Missing("version"),
            type ?? throw Missing("type"),
            timestamp ?? throw Missing("timestamp"),
            appendId ?? throw Missing("appendId"),
            data ?? throw Missing("data"),
            previousHash ?? throw Missing("previousHash"),
            hash ?? throw Missing("hash"));
    }

    private enum Property
    {
        Other,
        Version,
        Type,
        Timestamp,
        AppendId,
        PreviousHash,
        Hash,
        Data,
    }

    // One comparison per property, chosen by the name's length (the writer never escapes these names).
    private static Property PropertyOf(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            return reader.ValueTextEquals("version"u8) ? Property.Version
                : reader.ValueTextEquals("type"u8) ? Property.Type
                : reader.ValueTextEquals("timestamp"u8) ? Property.Timestamp
                : reader.ValueTextEquals("appendId"u8) ? Property.AppendId
                : reader.ValueTextEquals("previousHash"u8) ? Property.PreviousHash
                : reader.ValueTextEquals("hash"u8) ? Property.Hash
                : reader.ValueTextEquals("data"u8) ? Property.Data
                : Property.Other;
        }
        var name = reader.ValueSpan;
        return name.Length switch
        {
            4 when name.SequenceEqual("type"u8) => Property.Type,
            4 when name.SequenceEqual("hash"u8) => Property.Hash,
            4 when name.SequenceEqual("data"u8) => Property.Data,
            7 when name.SequenceEqual("version"u8) => Property.Version,
            8 when name.SequenceEqual("appendId"u8) => Property.AppendId,
            9 when name.SequenceEqual("timestamp"u8) => Property.Timestamp,
            12 when name.SequenceEqual("previousHash"u8) => Property.PreviousHash,
            _ => Property.Other,
        };
    }

    // The JSON string's unescaped bytes in one allocation (unescaping only shortens: the slice may leave a few bytes unused).
    private static ReadOnlyMemory<byte> ReadStringMemory(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"Expected a JSON string, found {reader.TokenType}.");
        }
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return reader.ValueSpan.ToArray();
        }
        var buffer = new byte[reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length];
        var written = reader.CopyString(buffer);
        return buffer.AsMemory(0, written);
    }

    [ThreadStatic]
    private static string? t_lastType;

    [ThreadStatic]
    private static string? t_lastHash;

    private static string? ReuseOrRead(ref Utf8JsonReader reader, ref string? last)
    {
        if (last is not null && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(last))
        {
            return last;
        }
        last = reader.GetString();
        return last;
    }

    /// <summary>The UTF-8 bytes of the JSON string the reader is on (unescaped).</summary>
    internal static byte[] ReadStringBytes(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"Expected a JSON string, found {reader.TokenType}.");
        }
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return reader.ValueSpan.ToArray();
        }
        var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = reader.CopyString(buffer);
            return buffer.AsSpan(0, written).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new JsonException($"Expected {type}.");
        }
    }

    internal static JsonException Missing(string field) => new($"The stored JSON has no '{field}'.");
}
