namespace DurableStreams.State;

/// <summary>What a change event does to the entity at its <c>type</c>/<c>key</c> (<c>headers.operation</c>).</summary>
public enum StateOperation
{
    /// <summary><c>"insert"</c>: stores a new entity (over an existing one, it simply replaces it, as the npm package does).</summary>
    Insert,

    /// <summary><c>"update"</c>: replaces an entity (a missing one is simply stored).</summary>
    Update,

    /// <summary><c>"delete"</c>: removes an entity (a missing one is no change).</summary>
    Delete,

    /// <summary><c>"upsert"</c>: stores the entity whether or not it exists.</summary>
    Upsert,
}

/// <summary>Which control message (<c>headers.control</c>).</summary>
public enum ControlKind
{
    /// <summary><c>"snapshot-start"</c>: the changes that follow form a snapshot.</summary>
    SnapshotStart,

    /// <summary><c>"snapshot-end"</c>: the snapshot is complete.</summary>
    SnapshotEnd,

    /// <summary><c>"reset"</c>: readers clear their materialized state.</summary>
    Reset,
}

/// <summary>The wire names of operations and control kinds (the npm package's spelling).</summary>
internal static class StateWireNames
{
    internal static string Of(StateOperation operation) => operation switch
    {
        StateOperation.Insert => "insert",
        StateOperation.Update => "update",
        StateOperation.Delete => "delete",
        StateOperation.Upsert => "upsert",
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, "Not a state operation."),
    };

    internal static string Of(ControlKind kind) => kind switch
    {
        ControlKind.SnapshotStart => "snapshot-start",
        ControlKind.SnapshotEnd => "snapshot-end",
        ControlKind.Reset => "reset",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a control kind."),
    };

    /// <summary>Every operation but delete carries a value.</summary>
    internal static bool RequiresValue(StateOperation operation) => operation != StateOperation.Delete;

    /// <summary>The change headers with a property of their own (an extra header may not use these names, nor <c>control</c>).</summary>
    internal static bool IsKnownChangeHeader(string name) =>
        name is "operation" or "txid" or "timestamp" or "from" or "offset";
}
