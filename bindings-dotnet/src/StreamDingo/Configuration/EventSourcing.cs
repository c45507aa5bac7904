namespace StreamDingo;

/// <summary>A configured StreamDingo: the store, the replay engine, the repository and the verifier, built by <see cref="EventSourcingBuilder.Build"/>.</summary>
public sealed class EventSourcing
{
    internal EventSourcing(EventStoreBase store, EventReplayEngine replay, AggregateRepository aggregates, HandlerRegistry handlers)
    {
        Store = store;
        Replay = replay;
        Aggregates = aggregates;
        Handlers = handlers;
    }

    /// <summary>The event store.</summary>
    public EventStoreBase Store { get; }

    /// <summary>The snapshot store.</summary>
    public ISnapshotStore Snapshots => Store.Context.Snapshots.Store;

    /// <summary>The replay engine.</summary>
    public EventReplayEngine Replay { get; }

    /// <summary>Load, append and snapshot aggregates.</summary>
    public AggregateRepository Aggregates { get; }

    /// <summary>The registered handlers and their hashes.</summary>
    public HandlerRegistry Handlers { get; }

    /// <summary>The integrity verifier.</summary>
    public IntegrityVerifier Integrity => Store.Context.Verifier;

    /// <summary>The options in effect.</summary>
    public StreamDingoOptions Options => Store.Context.Options;
}
