using System.Buffers;
using System.Text.Json;

namespace DurableStreams.State;

// MaterializedState: saving the entities with their checkpoint, and restoring them to resume.
public sealed partial class MaterializedState
{
    /// <summary>
    /// The entities and the checkpoint they are complete up to, as UTF-8 JSON
    /// <c>{"checkpoint": "...", "in_snapshot": false, "entities": {type: {key: value}}}</c>, each
    /// value serialized with its collection's metadata. Store it, and later
    /// <see cref="Restore(ReadOnlySpan{byte})"/> it to resume reading after what it holds.
    /// </summary>
    /// <returns>The saved state.</returns>
    public byte[] Save()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Save(writer);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes what <see cref="Save()"/> returns to <paramref name="writer"/>.</summary>
    /// <param name="writer">The JSON writer.</param>
    public void Save(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("checkpoint"u8, Checkpoint.ToString());
        writer.WriteBoolean("in_snapshot"u8, InSnapshot);
        writer.WriteStartObject("entities"u8);
        foreach (var collection in _collections.Values)
        {
            if (collection.Count > 0)
            {
                writer.WritePropertyName(collection.EntityType);
                collection.WriteEntities(writer);
            }
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>
    /// Loads a state saved with <see cref="Save()"/> into this new state: its entities (into the
    /// collections registered so far, other types as <see cref="JsonElement"/>), its snapshot flag
    /// and its checkpoint, from which reading then resumes.
    /// </summary>
    /// <param name="saved">The saved UTF-8 JSON.</param>
    /// <exception cref="InvalidOperationException">This state has already applied or restored something.</exception>
    /// <exception cref="FormatException">The saved text is not a saved state (a corrupted save), naming the field.</exception>
    public void Restore(ReadOnlySpan<byte> saved)
    {
        if (_started)
        {
            throw new InvalidOperationException("Restore loads a saved state into a new MaterializedState; this one has already applied or restored messages.");
        }
        _started = true;
        StateCheckpoint? checkpoint = null;
        try
        {
            var reader = new Utf8JsonReader(saved);
            Expect(ref reader, JsonTokenType.StartObject, "the saved state");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("checkpoint"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String || !StateCheckpoint.TryParse(reader.GetString(), out var parsed))
                    {
                        throw new FormatException("The saved state's field `checkpoint` is not a state checkpoint.");
                    }
                    checkpoint = parsed;
                }
                else if (reader.ValueTextEquals("in_snapshot"u8))
                {
                    reader.Read();
                    InSnapshot = reader.TokenType switch
                    {
                        JsonTokenType.True => true,
                        JsonTokenType.False => false,
                        _ => throw new FormatException("The saved state's field `in_snapshot` is not a boolean."),
                    };
                }
                else if (reader.ValueTextEquals("entities"u8))
                {
                    reader.Read();
                    Expect(ref reader, JsonTokenType.StartObject, "entities", alreadyRead: true);
                    ReadEntities(ref reader, saved);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException e)
        {
            throw new FormatException($"The saved state is not valid JSON: {e.Message}", e);
        }
        catch (StateFormatException e)
        {
            throw new FormatException($"The saved state's {e.Message}.", e);
        }
        _position = new StatePositionTracker(checkpoint ?? throw new FormatException("The saved state has no field `checkpoint`."));
    }

    private void ReadEntities(ref Utf8JsonReader reader, ReadOnlySpan<byte> saved)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var entityType = reader.GetString()!;
            reader.Read();
            Expect(ref reader, JsonTokenType.StartObject, $"entities.{entityType}", alreadyRead: true);
            if (!_collections.TryGetValue(entityType, out var collection))
            {
                collection = new StateCollection<JsonElement>(entityType, StateJsonContext.Default.JsonElement);
                _collections.Add(entityType, collection);
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.GetString()!;
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                var kind = reader.TokenType;
                reader.Skip();
                collection.Load(key, saved, new JsonSlice(start, (int)reader.BytesConsumed - start, kind));
            }
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType token, string field, bool alreadyRead = false)
    {
        if ((!alreadyRead && !reader.Read()) || reader.TokenType != token)
        {
            throw new FormatException($"The saved state's field `{field}` is not a JSON object.");
        }
    }
}
