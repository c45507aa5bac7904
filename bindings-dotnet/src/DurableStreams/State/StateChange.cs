namespace DurableStreams.State;

/// <summary>An applied change, as <see cref="MaterializedState.Changed"/> reports it (values in <see cref="StateChange{T}"/>).</summary>
public class StateChangedEventArgs : EventArgs
{
    private protected StateChangedEventArgs(string entityType, string key, ChangeHeaders headers, StateCheckpoint checkpoint)
    {
        EntityType = entityType;
        Key = key;
        Headers = headers;
        Checkpoint = checkpoint;
    }

    /// <summary>The entity type (<c>type</c>).</summary>
    public string EntityType { get; }

    /// <summary>The entity's key.</summary>
    public string Key { get; }

    /// <summary>The operation applied.</summary>
    public StateOperation Operation => Headers.Operation;

    /// <summary>The change's headers (<c>txid</c>, <c>timestamp</c>...).</summary>
    public ChangeHeaders Headers { get; }

    /// <summary>The state's position just after this change.</summary>
    public StateCheckpoint Checkpoint { get; }
}

/// <summary>An applied change of a <see cref="StateCollection{T}"/>: the new value and the one it replaced.</summary>
/// <typeparam name="T">The collection's value type.</typeparam>
public sealed class StateChange<T> : StateChangedEventArgs
{
    internal StateChange(string entityType, string key, ChangeHeaders headers, StateCheckpoint checkpoint, T? value, bool hadPrevious, T? previous)
        : base(entityType, key, headers, checkpoint)
    {
        Value = value;
        HadPrevious = hadPrevious;
        Previous = previous;
    }

    /// <summary>The value now stored (<c>default</c> after a delete).</summary>
    public T? Value { get; }

    /// <summary>Whether the key had a value before this change.</summary>
    public bool HadPrevious { get; }

    /// <summary>The value before this change (<c>default</c> when <see cref="HadPrevious"/> is false).</summary>
    public T? Previous { get; }
}

/// <summary>An applied control message, as <see cref="MaterializedState.ControlApplied"/> reports it.</summary>
public sealed class ControlAppliedEventArgs : EventArgs
{
    internal ControlAppliedEventArgs(ControlEvent control, StateCheckpoint checkpoint)
    {
        Control = control;
        Checkpoint = checkpoint;
    }

    /// <summary>The control message (a <see cref="ControlKind.Reset"/> has just cleared every collection).</summary>
    public ControlEvent Control { get; }

    /// <summary>The state's position just after it.</summary>
    public StateCheckpoint Checkpoint { get; }
}

/// <summary>One chunk of the stream applied by <see cref="MaterializedState.FollowAsync"/>.</summary>
/// <param name="Messages">How many messages of the chunk were applied (0 for a chunk that only marks the tail).</param>
/// <param name="Checkpoint">The state's position after the chunk: save it with the state.</param>
/// <param name="UpToDate">Whether the state has caught up with the stream's tail as it was served.</param>
/// <param name="StreamClosed">Whether the stream is closed and this is its end.</param>
public readonly record struct StateApplied(int Messages, StateCheckpoint Checkpoint, bool UpToDate, bool StreamClosed);
