namespace StreamDingo;

/// <summary>The event handlers of each state type, with their build-time source hashes. Filled by <see cref="EventSourcingBuilder"/>.</summary>
public sealed class HandlerRegistry
{
    private readonly Dictionary<(Type State, Type Event), RegisteredHandler> _handlers = [];
    private readonly Dictionary<Type, Dictionary<string, string>> _hashesByState = [];

    /// <summary>Registers a handler; its hash comes from the generated registry (<see cref="HandlerHashes"/>).</summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <exception cref="InvalidOperationException">The handler has no generated hash (the generator did not see it: it must be a non-generic, non-private class in a project that references StreamDingo).</exception>
    public void Add<TState, TEvent>(IEventHandler<TState, TEvent> handler)
        where TState : class
        where TEvent : IEvent
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (!HandlerHashes.TryGet(handler.GetType(), out var hash))
        {
            throw new InvalidOperationException($"The handler {handler.GetType()} has no build-time source hash. Handlers must be non-generic classes that are not private, in a project that references the StreamDingo package (its source generator computes the hash).");
        }
        Add(handler, hash);
    }

    /// <summary>Registers a handler with an explicit name and hash (for handlers the generator cannot see, such as ones built at run time; you are then responsible for changing the hash when the code changes).</summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <param name="hash">Its name and hash.</param>
    public void Add<TState, TEvent>(IEventHandler<TState, TEvent> handler, HandlerHash hash)
        where TState : class
        where TEvent : IEvent
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentException.ThrowIfNullOrEmpty(hash.Name);
        ArgumentException.ThrowIfNullOrEmpty(hash.Hash);
        _handlers[(typeof(TState), typeof(TEvent))] = new RegisteredHandler(hash.Name, hash.Hash, (state, e) => handler.Handle((TState?)state, (TEvent)e));
        if (!_hashesByState.TryGetValue(typeof(TState), out var hashes))
        {
            hashes = new Dictionary<string, string>(StringComparer.Ordinal);
            _hashesByState[typeof(TState)] = hashes;
        }
        hashes[hash.Name] = hash.Hash;
    }

    /// <summary>The current handler hashes of a state type, by handler name (empty when it has no handlers).</summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <returns>A copy of the hashes.</returns>
    public Dictionary<string, string> CurrentHashes<TState>() =>
        _hashesByState.TryGetValue(typeof(TState), out var hashes) ? new Dictionary<string, string>(hashes, StringComparer.Ordinal) : new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Whether a snapshot built with <paramref name="snapshotHashes"/> was built by exactly the current handlers of <typeparamref name="TState"/>.</summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <param name="snapshotHashes">The hashes stored with the snapshot.</param>
    /// <returns>True when every handler is the same (none added, removed or changed).</returns>
    public bool IsCompatible<TState>(IReadOnlyDictionary<string, string> snapshotHashes)
    {
        ArgumentNullException.ThrowIfNull(snapshotHashes);
        _hashesByState.TryGetValue(typeof(TState), out var current);
        current ??= [];
        if (current.Count != snapshotHashes.Count)
        {
            return false;
        }
        foreach (var (name, hash) in current)
        {
            if (!snapshotHashes.TryGetValue(name, out var stored) || !string.Equals(stored, hash, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }
        return true;
    }

    internal bool TryGet(Type stateType, Type eventType, out RegisteredHandler handler) => _handlers.TryGetValue((stateType, eventType), out handler!);

    /// <summary>One registered handler, as the replay engine calls it.</summary>
    internal sealed record RegisteredHandler(string Name, string Hash, Func<object?, IEvent, object> Apply);
}
