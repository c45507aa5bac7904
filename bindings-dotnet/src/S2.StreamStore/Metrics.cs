using System.Text.Json;
using S2.StreamStore.Json;

namespace S2.StreamStore;

/// <summary>The metric sets S2 offers, by their API names.</summary>
public static class MetricSets
{
    /// <summary>Account: the basins that had at least one stream in the range (a label metric).</summary>
    public const string ActiveBasins = "active-basins";

    /// <summary>Account: operations per interval, one accumulation per operation type.</summary>
    public const string AccountOps = "account-ops";

    /// <summary>Basin or stream: stored bytes over time (a gauge; takes no interval).</summary>
    public const string Storage = "storage";

    /// <summary>Basin: append operations per interval, one accumulation per storage class.</summary>
    public const string AppendOps = "append-ops";

    /// <summary>Basin: read operations per interval, one accumulation per read type.</summary>
    public const string ReadOps = "read-ops";

    /// <summary>Basin: bytes read per interval.</summary>
    public const string ReadThroughput = "read-throughput";

    /// <summary>Basin: bytes appended per interval.</summary>
    public const string AppendThroughput = "append-throughput";

    /// <summary>Basin: operations per interval, one accumulation per operation type.</summary>
    public const string BasinOps = "basin-ops";
}

/// <summary>The interval timeseries metric sets accumulate over.</summary>
public enum MetricsInterval
{
    /// <summary>A minute.</summary>
    Minute,

    /// <summary>An hour.</summary>
    Hour,

    /// <summary>A day.</summary>
    Day,
}

/// <summary>Which metric set to fetch over which time range.</summary>
/// <param name="Set">The set (see <see cref="MetricSets"/>).</param>
/// <param name="Start">Start of the range (inclusive; whole seconds).</param>
/// <param name="End">End of the range (exclusive; after <paramref name="Start"/>).</param>
/// <param name="Interval">The accumulation interval of timeseries sets (null: the set's default).</param>
public sealed record MetricsRequest(string Set, DateTimeOffset Start, DateTimeOffset End, MetricsInterval? Interval = null)
{
    internal MetricsRequestJson ToWire(string parameter)
    {
        if (string.IsNullOrWhiteSpace(Set))
        {
            throw new ArgumentException("The metric set must be given (see MetricSets).", parameter);
        }
        var start = Start.ToUnixTimeSeconds();
        var end = End.ToUnixTimeSeconds();
        if (start < 0 || end > uint.MaxValue || start >= end)
        {
            throw new ArgumentException($"The range must be non-empty and within 1970-2106 (start {Start:O}, end {End:O}).", parameter);
        }
        return new MetricsRequestJson
        {
            Set = Set,
            Start = (uint)start,
            End = (uint)end,
            Interval = Interval?.ToString().ToLowerInvariant(),
        };
    }
}

/// <summary>What kind of metric a <see cref="S2Metric"/> is.</summary>
public enum MetricKind
{
    /// <summary>A single value (<see cref="S2Metric.Value"/>).</summary>
    Scalar,

    /// <summary>Points, each accumulated over one <see cref="S2Metric.Interval"/> from its time.</summary>
    Accumulation,

    /// <summary>Points, each an instantaneous value.</summary>
    Gauge,

    /// <summary>A set of labels (<see cref="S2Metric.Labels"/>).</summary>
    Label,
}

/// <summary>One point of a timeseries metric.</summary>
/// <param name="Time">When (the start of its interval, for accumulations).</param>
/// <param name="Value">The value.</param>
public readonly record struct MetricPoint(DateTimeOffset Time, double Value);

/// <summary>One metric of a set.</summary>
/// <param name="Kind">What kind of metric it is.</param>
/// <param name="Name">Its name.</param>
/// <param name="Unit"><c>bytes</c>, <c>operations</c> or <c>usd</c> (null for labels).</param>
/// <param name="Value">The value of a scalar.</param>
/// <param name="Interval">The interval of an accumulation.</param>
/// <param name="Points">The points of an accumulation or a gauge (empty otherwise).</param>
/// <param name="Labels">The labels of a label metric (empty otherwise).</param>
public sealed record S2Metric(MetricKind Kind, string Name, string? Unit, double? Value, MetricsInterval? Interval, IReadOnlyList<MetricPoint> Points, IReadOnlyList<string> Labels)
{
    internal static IReadOnlyList<S2Metric> FromJson(string json)
    {
        var wire = JsonSerializer.Deserialize(json, S2JsonContext.Default.ListMetricJson) ?? [];
        return wire.Select(FromWire).ToList();
    }

    private static S2Metric FromWire(MetricJson metric)
    {
        var (kind, body) = metric switch
        {
            { Scalar: { } b } => (MetricKind.Scalar, b),
            { Accumulation: { } b } => (MetricKind.Accumulation, b),
            { Gauge: { } b } => (MetricKind.Gauge, b),
            { Label: { } b } => (MetricKind.Label, b),
            _ => throw new S2Exception("get metrics: the server sent a metric of an unknown kind", new S2ErrorDetails(S2ErrorKind.Protocol, null, null, null, null, null, false)),
        };
        var points = new List<MetricPoint>();
        var labels = new List<string>();
        foreach (var value in body.Values ?? [])
        {
            if (value.ValueKind == JsonValueKind.String)
            {
                labels.Add(value.GetString() ?? "");
            }
            else if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 2)
            {
                points.Add(new MetricPoint(DateTimeOffset.FromUnixTimeSeconds(value[0].GetInt64()), value[1].GetDouble()));
            }
        }
        MetricsInterval? interval = body.Interval switch
        {
            "minute" => MetricsInterval.Minute,
            "hour" => MetricsInterval.Hour,
            "day" => MetricsInterval.Day,
            _ => null,
        };
        return new S2Metric(kind, body.Name, body.Unit, body.Value, interval, points, labels);
    }
}

/// <summary>A location an account can place basins in.</summary>
/// <param name="Name">Its name.</param>
/// <param name="IsPrivate">Whether it is a private placement of this account.</param>
/// <param name="StorageClasses">The storage classes available there.</param>
/// <param name="DefaultStorageClass">The default storage class there.</param>
public sealed record LocationInfo(string Name, bool IsPrivate, IReadOnlyList<string>? StorageClasses, string? DefaultStorageClass);
