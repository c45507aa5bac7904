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

/// <summary>The wire form of a metrics request (Unix seconds).</summary>
internal sealed class MetricsRequestJson
{
    public string Set { get; set; } = "";

    public uint Start { get; set; }

    public uint End { get; set; }

    public string? Interval { get; set; }
}

/// <summary>A metric as S2 sends it: one property named after its kind.</summary>
internal sealed class MetricJson
{
    public MetricBodyJson? Scalar { get; set; }

    public MetricBodyJson? Accumulation { get; set; }

    public MetricBodyJson? Gauge { get; set; }

    public MetricBodyJson? Label { get; set; }
}

/// <summary>The fields of every metric kind (<c>values</c>: <c>[secs, value]</c> points, or label strings).</summary>
internal sealed class MetricBodyJson
{
    public string Name { get; set; } = "";

    public string? Unit { get; set; }

    public double? Value { get; set; }

    public string? Interval { get; set; }

    public List<System.Text.Json.JsonElement>? Values { get; set; }
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
[JsonSerializable(typeof(MetricsRequestJson))]
[JsonSerializable(typeof(List<MetricJson>))]
[JsonSerializable(typeof(LocationInfo))]
[JsonSerializable(typeof(List<LocationInfo>))]
internal sealed partial class S2JsonContext : JsonSerializerContext
{
}
