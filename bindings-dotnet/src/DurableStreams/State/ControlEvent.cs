namespace DurableStreams.State;

/// <summary>A control message: <c>{"headers": {"control": "snapshot-start" | "snapshot-end" | "reset", "offset"?: ...}}</c>.</summary>
/// <param name="Kind"><c>headers.control</c>.</param>
/// <param name="Offset"><c>headers.offset</c>: the stream offset the message refers to, if the writer gives one (non-empty).</param>
public sealed record ControlEvent(ControlKind Kind, string? Offset = null)
{
    /// <summary>A <c>snapshot-start</c>: the changes that follow form a snapshot.</summary>
    /// <param name="offset">The optional <c>headers.offset</c>.</param>
    /// <returns>The message.</returns>
    public static ControlEvent SnapshotStart(string? offset = null) => new(ControlKind.SnapshotStart, offset);

    /// <summary>A <c>snapshot-end</c>: the snapshot is complete.</summary>
    /// <param name="offset">The optional <c>headers.offset</c>.</param>
    /// <returns>The message.</returns>
    public static ControlEvent SnapshotEnd(string? offset = null) => new(ControlKind.SnapshotEnd, offset);

    /// <summary>A <c>reset</c>: readers clear their materialized state.</summary>
    /// <param name="offset">The optional <c>headers.offset</c>.</param>
    /// <returns>The message.</returns>
    public static ControlEvent Reset(string? offset = null) => new(ControlKind.Reset, offset);
}
