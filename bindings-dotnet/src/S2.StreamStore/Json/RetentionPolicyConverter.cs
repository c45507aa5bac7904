using System.Text.Json;
using System.Text.Json.Serialization;

namespace S2.StreamStore.Json;

/// <summary><c>{"age": secs}</c> or <c>{"infinite": {}}</c>.</summary>
internal sealed class RetentionPolicyConverter : JsonConverter<RetentionPolicy>
{
    public override RetentionPolicy? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A retention policy is an object.");
        }
        RetentionPolicy? result = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            if (name == "age")
            {
                result = RetentionPolicy.ForAge(TimeSpan.FromSeconds(reader.GetUInt64()));
            }
            else
            {
                reader.Skip();
                if (name == "infinite")
                {
                    result = RetentionPolicy.Infinite;
                }
            }
        }
        return result ?? throw new JsonException("Unknown retention policy.");
    }

    public override void Write(Utf8JsonWriter writer, RetentionPolicy value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        if (value.Age is { } age)
        {
            writer.WriteNumber("age", (ulong)age.TotalSeconds);
        }
        else
        {
            writer.WriteStartObject("infinite");
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }
}
