namespace StreamDingo;

/// <summary>StreamDingo's behaviour, set through <see cref="EventSourcingBuilder.Configure"/>.</summary>
public sealed class StreamDingoOptions
{
    /// <summary>What to do with events of unregistered types; <see cref="UnknownEventTypeHandling.Fail"/> by default.</summary>
    public UnknownEventTypeHandling UnknownEventTypes { get; set; } = UnknownEventTypeHandling.Fail;

    /// <summary>When to take snapshots after appends; <see cref="SnapshotPolicies.OnDemand"/> by default.</summary>
    public ISnapshotPolicy SnapshotPolicy { get; set; } = SnapshotPolicies.OnDemand;

    /// <summary>Whether loading state after a handler changed (from an older snapshot or the beginning) saves a snapshot built with the current handlers, so the next load is fast again. True by default.</summary>
    public bool SnapshotAfterHandlerChange { get; set; } = true;

    /// <summary>How many times <see cref="IEventStore.AppendEventAsync{T}"/> (no expected version) retries after losing a race; 16 by default.</summary>
    public int MaxAppendAttempts { get; set; } = 16;

    /// <summary>How many older snapshots the replay engine examines for a compatible one before replaying from the beginning; 16 by default.</summary>
    public int MaxSnapshotsExamined { get; set; } = 16;

    /// <summary>
    /// For how many streams <see cref="AggregateRepository"/> keeps the state it last loaded or wrote,
    /// so that consecutive appends by this process do not replay the stream; 1,024 by default, 0 keeps
    /// none. The kept state is the object the repository returned: do not change a returned state
    /// yourself (a handler may change its previous state; a failed append drops the kept one).
    /// </summary>
    public int AggregateCacheSize { get; set; } = 1024;

    /// <summary>
    /// Whether replays decode and hash-check long runs of events on several cores (false by default;
    /// failures are still reported at the first bad event, in stream order). It can shorten a long
    /// replay on a machine with idle cores, at the price of more CPU in total; where the cores are
    /// busy with other work (a loaded server) it makes replays slower, which is why it is off.
    /// </summary>
    public bool ParallelReplay { get; set; }

    /// <summary>Checks the values, naming the property at fault.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(UnknownEventTypes))
        {
            throw new ArgumentOutOfRangeException(nameof(UnknownEventTypes), UnknownEventTypes, "UnknownEventTypes must be Fail or Skip.");
        }
        ArgumentNullException.ThrowIfNull(SnapshotPolicy, nameof(SnapshotPolicy));
        if (MaxAppendAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAppendAttempts), MaxAppendAttempts, "MaxAppendAttempts must be at least 1.");
        }
        if (AggregateCacheSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(AggregateCacheSize), AggregateCacheSize, "AggregateCacheSize must be 0 or more.");
        }
        if (MaxSnapshotsExamined < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSnapshotsExamined), MaxSnapshotsExamined, "MaxSnapshotsExamined must be at least 1.");
        }
    }
}
