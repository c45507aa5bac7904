using System.Text.Json;
using System.Text.Json.Serialization;

namespace DurableStreams.State;

/// <summary>Source-generated metadata for the few framework types the State Protocol code (de)serializes itself (trimming/AOT-safe).</summary>
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(string))]
internal sealed partial class StateJsonContext : JsonSerializerContext
{
}
