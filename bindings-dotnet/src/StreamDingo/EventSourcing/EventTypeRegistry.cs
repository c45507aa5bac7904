using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace StreamDingo;

/// <summary>
/// The registered event and state types: the stable name stored with each event or snapshot and
/// the System.Text.Json metadata that (de)serializes it (source-generated metadata keeps it
/// NativeAOT-clean). Filled by <see cref="EventSourcingBuilder"/>; read-only once built.
/// </summary>
public sealed class EventTypeRegistry
{
    private readonly Dictionary<string, EventType> _eventsByName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, EventType> _eventsByType = [];
    private readonly Dictionary<Type, StateType> _statesByType = [];

    /// <summary>Registers an event type.</summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="name">The name stored with each event (keep it when renaming the class).</param>
    /// <param name="typeInfo">Its JSON metadata.</param>
    public void AddEvent<TEvent>(string name, JsonTypeInfo<TEvent> typeInfo)
        where TEvent : IEvent
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(typeInfo);
        if (_eventsByName.TryGetValue(name, out var existing) && existing.ClrType != typeof(TEvent))
        {
            throw new InvalidOperationException($"The event type name '{name}' is already registered for {existing.ClrType}.");
        }
        var eventType = new EventType(
            name,
            typeof(TEvent),
            e => JsonSerializer.SerializeToUtf8Bytes((TEvent)e, typeInfo),
            bytes => JsonSerializer.Deserialize(bytes.Span, typeInfo) ?? throw new JsonException($"The event data of type '{name}' is JSON null."));
        _eventsByName[name] = eventType;
        _eventsByType[typeof(TEvent)] = eventType;
    }

    /// <summary>Registers a state type (for snapshots).</summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <param name="name">The name stored with each snapshot.</param>
    /// <param name="typeInfo">Its JSON metadata.</param>
    public void AddState<TState>(string name, JsonTypeInfo<TState> typeInfo)
        where TState : class
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(typeInfo);
        _statesByType[typeof(TState)] = new StateType(
            name,
            s => JsonSerializer.SerializeToUtf8Bytes((TState)s, typeInfo),
            bytes => JsonSerializer.Deserialize(bytes.Span, typeInfo) ?? throw new JsonException($"The snapshot state of type '{name}' is JSON null."));
    }

    /// <summary>The registration of an event type name, when registered.</summary>
    internal bool TryGetEvent(string name, out EventType eventType) => _eventsByName.TryGetValue(name, out eventType!);

    /// <summary>The registration of an event's CLR type.</summary>
    internal EventType GetEvent(IEvent @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        return _eventsByType.TryGetValue(@event.GetType(), out var eventType)
            ? eventType
            : throw new InvalidOperationException($"The event type {@event.GetType()} is not registered: call AddEvent<{@event.GetType().Name}>(name, typeInfo) on the builder.");
    }

    /// <summary>The registration of a state type.</summary>
    internal StateType GetState<TState>() =>
        _statesByType.TryGetValue(typeof(TState), out var stateType)
            ? stateType
            : throw new InvalidOperationException($"The state type {typeof(TState)} is not registered: call AddState<{typeof(TState).Name}>(name, typeInfo) on the builder.");

    /// <summary>One registered event type.</summary>
    internal sealed record EventType(string Name, Type ClrType, Func<IEvent, byte[]> Serialize, Func<ReadOnlyMemory<byte>, IEvent> DeserializeMemory)
    {
        public IEvent Deserialize(ReadOnlyMemory<byte> data) => DeserializeMemory(data);
    }

    /// <summary>One registered state type.</summary>
    internal sealed record StateType(string Name, Func<object, byte[]> Serialize, Func<ReadOnlyMemory<byte>, object> Deserialize);
}
