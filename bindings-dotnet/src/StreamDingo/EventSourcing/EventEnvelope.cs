using System.Diagnostics;

namespace StreamDingo;

/// <summary>
/// One stored event with its metadata: what every store keeps per event. <see cref="Hash"/> chains
/// the events of a stream: it is the hash of <see cref="PreviousHash"/> and this event's version,
/// type, timestamp, append id and data bytes (<see cref="EventHashChain"/>), so changing,
/// removing or reordering any stored event breaks the chain at that event.
/// </summary>
/// <param name="StreamId">The stream (aggregate) id.</param>
/// <param name="Version">The event's position in its stream: 1 for the first event.</param>
/// <param name="EventType">The registered event type name.</param>
/// <param name="Timestamp">When the event was appended (UTC).</param>
/// <param name="AppendId">The id of the append that wrote the event: a retried append with the same id is recognised and stored once.</param>
/// <param name="Data">The event serialized as UTF-8 JSON.</param>
/// <param name="PreviousHash">The <see cref="Hash"/> of the previous event (<see cref="EventHashChain.GenesisHash"/> for version 1).</param>
/// <param name="Hash">The chain hash of this event (lowercase hexadecimal).</param>
[DebuggerDisplay("{StreamId,nq} v{Version} {EventType,nq}")]
public sealed record EventEnvelope(
    string StreamId,
    long Version,
    string EventType,
    DateTimeOffset Timestamp,
    Guid AppendId,
    ReadOnlyMemory<byte> Data,
    string PreviousHash,
    string Hash);
