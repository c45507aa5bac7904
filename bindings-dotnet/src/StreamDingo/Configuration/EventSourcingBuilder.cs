using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;

namespace StreamDingo;

/// <summary>
/// Fluent configuration: event and state types, handlers, the store, the snapshot store, options.
/// <c>Build()</c> gives an <see cref="EventSourcing"/>; <c>services.AddStreamDingo(...)</c> registers the same in DI.
/// </summary>
public sealed class EventSourcingBuilder
{
    private readonly EventTypeRegistry _types = new();
    private readonly HandlerRegistry _handlers = new();
    private readonly StreamDingoOptions _options = new();
    private Func<EventStoreContext, EventStoreBase>? _storeFactory;
    private Func<ISnapshotStore>? _snapshotStoreFactory;
    private IHashProvider _hashProvider = Sha256HashProvider.Instance;
    private TimeProvider _timeProvider = TimeProvider.System;

    /// <summary>Registers an event type under a stable name.</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="name">The name stored with each event.</param>
    /// <param name="typeInfo">Its JSON metadata (from a <c>JsonSerializerContext</c> for NativeAOT).</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder AddEvent<TEvent>(string name, JsonTypeInfo<TEvent> typeInfo)
        where TEvent : IEvent
    {
        _types.AddEvent(name, typeInfo);
        return this;
    }

    /// <summary>Registers a state type (needed for snapshots) under a stable name.</summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <param name="name">The name stored with each snapshot.</param>
    /// <param name="typeInfo">Its JSON metadata.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder AddState<TState>(string name, JsonTypeInfo<TState> typeInfo)
        where TState : class
    {
        _types.AddState(name, typeInfo);
        return this;
    }

    /// <summary>Registers a handler (its source hash comes from the build-time generator).</summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder AddHandler<TState, TEvent>(IEventHandler<TState, TEvent> handler)
        where TState : class
        where TEvent : IEvent
    {
        _handlers.Add(handler);
        return this;
    }

    /// <summary>Registers a handler with an explicit name and hash (for handlers the generator cannot see; you then change the hash whenever the code changes).</summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <param name="hash">Its stable name and source hash.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder AddHandler<TState, TEvent>(IEventHandler<TState, TEvent> handler, HandlerHash hash)
        where TState : class
        where TEvent : IEvent
    {
        _handlers.Add(handler, hash);
        return this;
    }

    /// <summary>Sets the event store (the store packages add <c>UseInMemory</c>, <c>UseDurableStreams</c>...).</summary>
    /// <param name="factory">Creates the store from the configuration.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder UseEventStore(Func<EventStoreContext, EventStoreBase> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _storeFactory = factory;
        return this;
    }

    /// <summary>Sets the snapshot store.</summary>
    /// <param name="factory">Creates it.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder UseSnapshotStore(Func<ISnapshotStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _snapshotStoreFactory = factory;
        return this;
    }

    /// <summary>Keeps snapshots as files under <paramref name="directory"/> (<see cref="FileSystemSnapshotStore"/>).</summary>
    /// <param name="directory">The directory (created when missing).</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder UseFileSystemSnapshots(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return UseSnapshotStore(() => new FileSystemSnapshotStore(directory));
    }

    /// <summary>Takes a snapshot every <paramref name="events"/> events (<see cref="SnapshotPolicies.EveryNEvents"/>).</summary>
    /// <param name="events">The interval.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder SnapshotEvery(int events)
    {
        _options.SnapshotPolicy = SnapshotPolicies.EveryNEvents(events);
        return this;
    }

    /// <summary>Replaces the hash function (SHA-256 by default). Every writer and reader of a stream must use the same one.</summary>
    /// <param name="hashProvider">The hash provider.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder UseHashProvider(IHashProvider hashProvider)
    {
        ArgumentNullException.ThrowIfNull(hashProvider);
        _hashProvider = hashProvider;
        return this;
    }

    /// <summary>Replaces the clock used for event timestamps and snapshot times.</summary>
    /// <param name="timeProvider">The clock.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder UseTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _timeProvider = timeProvider;
        return this;
    }

    /// <summary>Changes options.</summary>
    /// <param name="configure">Sets the options.</param>
    /// <returns>This builder.</returns>
    public EventSourcingBuilder Configure(Action<StreamDingoOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(_options);
        return this;
    }

    /// <summary>Builds the configured components.</summary>
    /// <param name="loggerFactory">Logging; none when null.</param>
    /// <returns>The components.</returns>
    /// <exception cref="InvalidOperationException">No event store or snapshot store was chosen.</exception>
    public EventSourcing Build(ILoggerFactory? loggerFactory = null)
    {
        if (_storeFactory is null)
        {
            throw new InvalidOperationException("No event store: call UseInMemory(), UseDurableStreams(...) or UseEventStore(...) on the builder.");
        }
        if (_snapshotStoreFactory is null)
        {
            throw new InvalidOperationException("No snapshot store: call UseInMemory(), UseDurableStreams(...), UseFileSystemSnapshots(...) or UseSnapshotStore(...) on the builder.");
        }
        var context = new EventStoreContext(_types, _snapshotStoreFactory(), _options, _hashProvider, loggerFactory, _timeProvider);
        var store = _storeFactory(context);
        var engine = new EventReplayEngine(store, _handlers);
        return new EventSourcing(store, engine, new AggregateRepository(store, engine, _handlers), _handlers);
    }
}
