using global::DurableStreams;

namespace StreamDingo.DurableStreams;

/// <summary>Chooses the Durable Streams stores on an <see cref="EventSourcingBuilder"/>.</summary>
public static class DurableStreamsBuilderExtensions
{
    /// <summary>Keeps events and snapshots on a Durable Streams server (<see cref="DurableStreamsEventStore"/>, <see cref="DurableStreamsSnapshotStore"/>).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="client">The client (its base URL is the server's stream prefix); the caller owns and disposes it.</param>
    /// <param name="options">Paths; the defaults when null.</param>
    /// <returns>The builder.</returns>
    public static EventSourcingBuilder UseDurableStreams(this EventSourcingBuilder builder, DurableStreamClient client, DurableStreamsStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(client);
        return builder
            .UseSnapshotStore(() => new DurableStreamsSnapshotStore(client, options))
            .UseEventStore(context => new DurableStreamsEventStore(context, client, options));
    }
}
