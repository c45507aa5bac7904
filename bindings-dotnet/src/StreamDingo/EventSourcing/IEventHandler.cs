namespace StreamDingo;

/// <summary>
/// A pure event handler: <c>(previous state, event) → new state</c>. It must be deterministic and
/// free of side effects, because the same events are replayed through it whenever state is
/// rebuilt. Its source is hashed at build time by the StreamDingo generator; snapshots remember
/// that hash, and a changed handler makes the replay engine rebuild state with the new code.
/// </summary>
/// <typeparam name="TState">The state (aggregate) type.</typeparam>
/// <typeparam name="TEvent">The event type this handler applies.</typeparam>
public interface IEventHandler<TState, TEvent>
    where TState : class
    where TEvent : IEvent
{
    /// <summary>Applies one event.</summary>
    /// <param name="previousSnapshot">The state before the event; null before the stream's first handled event.</param>
    /// <param name="event">The event.</param>
    /// <returns>The state after the event (a new object, or the previous one mutated: both are supported).</returns>
    TState Handle(TState? previousSnapshot, TEvent @event);
}
