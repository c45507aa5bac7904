namespace DurableStreams.State;

/// <summary>What a <see cref="StateWatch{T}"/> follows, and from where.</summary>
public sealed class StateWatchOptions
{
    /// <summary>Only changes whose <c>key</c> starts with this (ordinal); empty for every key.</summary>
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>Only changes of this entity <c>type</c>, when set.</summary>
    public string? EntityType { get; set; }

    /// <summary>Where to start: the last <see cref="WatchedChange{T}.Checkpoint"/> you persisted (the beginning by default).</summary>
    public StateCheckpoint From { get; set; } = StateCheckpoint.Beginning;

    /// <summary><see cref="LiveMode.Off"/> (the default) ends the watch at the current tail; a live mode keeps waiting for new changes.</summary>
    public LiveMode Live { get; set; } = LiveMode.Off;

    /// <summary>The options' fields: <c>StateWatchOptions { KeyPrefix = ..., EntityType = ..., From = ..., Live = ... }</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"StateWatchOptions {{ KeyPrefix = {KeyPrefix}, EntityType = {EntityType ?? "null"}, From = {From}, Live = {Live} }}";
}

/// <summary>One message delivered by a <see cref="StateWatch{T}"/>, with the position just after it.</summary>
/// <typeparam name="T">The value type.</typeparam>
/// <param name="Event">A change of a watched key, or a control message (those concern every key: a <c>reset</c> means every watched key is gone).</param>
/// <param name="Checkpoint">The position just after this message: persist it together with the effect of handling it.</param>
public sealed record WatchedChange<T>(StateEvent<T> Event, StateCheckpoint Checkpoint)
{
    /// <summary>The change, when this is one.</summary>
    public ChangeEvent<T>? Change => Event.Change;

    /// <summary>The control message, when this is one.</summary>
    public ControlEvent? Control => Event.Control;
}
