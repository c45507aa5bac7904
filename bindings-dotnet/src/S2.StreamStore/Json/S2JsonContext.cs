using System.Text.Json.Serialization;

namespace S2.StreamStore.Json;

/// <summary>The wire form of an access token request (<c>scope</c> nested).</summary>
internal sealed class AccessTokenRequestJson
{
    public string Id { get; set; } = "";

    public string? ExpiresAt { get; set; }

    public bool AutoPrefixStreams { get; set; }

    public AccessTokenScope Scope { get; set; } = new();
}

/// <summary>Source-generated metadata of every control-plane document (S2's REST field names: snake_case).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BasinConfig))]
[JsonSerializable(typeof(StreamConfig))]
[JsonSerializable(typeof(BasinInfo))]
[JsonSerializable(typeof(StreamInfo))]
[JsonSerializable(typeof(EnsuredBasin))]
[JsonSerializable(typeof(EnsuredStream))]
[JsonSerializable(typeof(ListPage<BasinInfo>))]
[JsonSerializable(typeof(ListPage<StreamInfo>))]
[JsonSerializable(typeof(ListPage<AccessTokenInfo>))]
[JsonSerializable(typeof(ListOptions))]
[JsonSerializable(typeof(AccessTokenRequestJson))]
[JsonSerializable(typeof(string))]
internal sealed partial class S2JsonContext : JsonSerializerContext
{
}
