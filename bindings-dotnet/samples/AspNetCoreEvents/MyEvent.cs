using System.Text.Json.Serialization;

namespace AspNetCoreEvents;

/// <summary>The event type stored (as JSON, e.g. <c>{"type":"created"}</c>) in the streams this API serves.</summary>
public sealed record MyEvent(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("at")] DateTimeOffset? At = null);
