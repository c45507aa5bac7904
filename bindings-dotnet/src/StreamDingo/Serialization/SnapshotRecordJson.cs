using System.Globalization;
using System.Text.Json;

namespace StreamDingo;

/// <summary>
/// The JSON form of a <see cref="SnapshotRecord"/>, for stores that keep JSON. The state travels as
/// a JSON string holding the state's JSON, so the exact bytes its hash covers survive re-encoding.
/// </summary>
public static class SnapshotRecordJson
{
    /// <summary>Serializes a record to UTF-8 JSON.</summary>
    /// <param name="record">The record.</param>
    /// <returns>The JSON bytes.</returns>
    public static byte[] Serialize(SnapshotRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 + record.State.Length * 2);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, record);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes a record as one JSON object.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="record">The record.</param>
    public static void Write(Utf8JsonWriter writer, SnapshotRecord record)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(record);
        writer.WriteStartObject();
        writer.WriteString("streamId"u8, record.StreamId);
        writer.WriteString("stateType"u8, record.StateType);
        writer.WriteNumber("version"u8, record.Version);
        writer.WriteString("hash"u8, record.Hash);
        writer.WriteString("eventHash"u8, record.EventHash);
        if (record.ReadPosition is not null)
        {
            writer.WriteString("readPosition"u8, record.ReadPosition);
        }
        writer.WriteString("createdAt"u8, record.CreatedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        writer.WriteStartObject("handlerHashes"u8);
        foreach (var (name, hash) in record.HandlerHashes.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            writer.WriteString(name, hash);
        }
        writer.WriteEndObject();
        writer.WriteString("state"u8, record.State.Span);
        writer.WriteEndObject();
    }

    /// <summary>Reads a record.</summary>
    /// <param name="json">One JSON object written by <see cref="Write"/>.</param>
    /// <returns>The record.</returns>
    /// <exception cref="JsonException">The JSON is not a snapshot record.</exception>
    public static SnapshotRecord Read(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        EventEnvelopeJson.Expect(ref reader, JsonTokenType.StartObject);
        string? streamId = null, stateType = null, hash = null, eventHash = null, readPosition = null;
        long? version = null;
        DateTime? createdAt = null;
        Dictionary<string, string>? handlerHashes = null;
        byte[]? state = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("streamId"u8))
            {
                reader.Read();
                streamId = reader.GetString();
            }
            else if (reader.ValueTextEquals("stateType"u8))
            {
                reader.Read();
                stateType = reader.GetString();
            }
            else if (reader.ValueTextEquals("version"u8))
            {
                reader.Read();
                version = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("hash"u8))
            {
                reader.Read();
                hash = reader.GetString();
            }
            else if (reader.ValueTextEquals("eventHash"u8))
            {
                reader.Read();
                eventHash = reader.GetString();
            }
            else if (reader.ValueTextEquals("readPosition"u8))
            {
                reader.Read();
                readPosition = reader.GetString();
            }
            else if (reader.ValueTextEquals("createdAt"u8))
            {
                reader.Read();
                createdAt = DateTime.Parse(reader.GetString() ?? string.Empty, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind).ToUniversalTime();
            }
            else if (reader.ValueTextEquals("handlerHashes"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw new JsonException("'handlerHashes' must be an object.");
                }
                handlerHashes = new Dictionary<string, string>(StringComparer.Ordinal);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    handlerHashes[name] = reader.GetString() ?? string.Empty;
                }
            }
            else if (reader.ValueTextEquals("state"u8))
            {
                reader.Read();
                state = EventEnvelopeJson.ReadStringBytes(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return new SnapshotRecord(
            streamId ?? throw EventEnvelopeJson.Missing("streamId"),
            stateType ?? throw EventEnvelopeJson.Missing("stateType"),
            version ?? throw EventEnvelopeJson.Missing("version"),
            state ?? throw EventEnvelopeJson.Missing("state"),
            hash ?? throw EventEnvelopeJson.Missing("hash"),
            createdAt ?? throw EventEnvelopeJson.Missing("createdAt"),
            handlerHashes ?? new Dictionary<string, string>(StringComparer.Ordinal),
            eventHash ?? string.Empty)
        {
            // Absent in snapshots written before positions were recorded: reads then start at the beginning.
            ReadPosition = readPosition,
        };
    }
}
