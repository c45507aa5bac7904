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
        byte[]? data = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("version"u8))
            {
                reader.Read();
                version = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = ReuseOrRead(ref reader, ref t_lastType);
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                reader.Read();
                timestamp = reader.TryGetDateTimeOffset(out var parsed)
                    ? parsed
                    : DateTimeOffset.Parse(reader.GetString() ?? string.Empty, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
            }
            else if (reader.ValueTextEquals("appendId"u8))
            {
                reader.Read();
                appendId = reader.GetGuid();
            }
            else if (reader.ValueTextEquals("previousHash"u8))
            {
                reader.Read();
                // Reading a stream in order, an event's previous hash is the hash just read: share the string.
                previousHash = ReuseOrRead(ref reader, ref t_lastHash);
            }
            else if (reader.ValueTextEquals("hash"u8))
            {
                reader.Read();
                hash = reader.GetString();
                t_lastHash = hash;
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                data = ReadStringBytes(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
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
