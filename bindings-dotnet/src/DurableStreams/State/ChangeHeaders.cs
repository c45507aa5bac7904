using System.Text.Json;

namespace DurableStreams.State;

/// <summary>
/// The <c>headers</c> object of a change event: <c>operation</c>, and the optional <c>txid</c>,
/// <c>timestamp</c>, <c>from</c> and <c>offset</c> of the npm package's <c>ChangeHeaders</c>, plus
/// any other header as it came.
/// </summary>
/// <param name="Operation"><c>operation</c>.</param>
public sealed record ChangeHeaders(StateOperation Operation)
{
    /// <summary><c>txid</c>: groups the changes of one transaction (opaque, non-empty).</summary>
    public string? TxId { get; init; }

    /// <summary><c>timestamp</c>: when the change happened, as written (RFC 3339).</summary>
    public string? Timestamp { get; init; }

    /// <summary><see cref="Timestamp"/> as an instant; null when there is none or it is not an RFC 3339 date-time.</summary>
    public DateTimeOffset? TimestampValue => StateTimestamp.TryParse(Timestamp);

    /// <summary><c>from</c>: where the change came from (free-form).</summary>
    public string? From { get; init; }

    /// <summary>
    /// <c>offset</c>: a stream offset associated with the change. The Node reference server sets
    /// it on every message it serves (the offset of the append that stored it); Electric's serves
    /// messages as written.
    /// </summary>
    public string? Offset { get; init; }

    /// <summary>Any other header, by name, as its JSON value (the npm helpers write strings); null when there is none.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Extra { get; init; }
}
