namespace StreamDingo;

/// <summary>
/// A domain event: an immutable fact that happened to one stream (aggregate). Marker interface;
/// each event type is registered with a stable name (<see cref="EventSourcingBuilder.AddEvent{TEvent}(string, System.Text.Json.Serialization.Metadata.JsonTypeInfo{TEvent})"/>)
/// that is stored with it, so renaming the CLR type does not orphan stored events.
/// </summary>
public interface IEvent
{
}
