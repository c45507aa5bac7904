using global::S2.StreamStore;

namespace StreamDingo.S2;

/// <summary>Chooses the S2 stores on an <see cref="EventSourcingBuilder"/>.</summary>
public static class S2BuilderExtensions
{
    /// <summary>Keeps events and snapshots in an S2 basin (<see cref="S2EventStore"/>, <see cref="S2SnapshotStore"/>).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="basin">The basin (its client is the caller's to dispose).</param>
    /// <param name="options">Names and fencing; the defaults when null.</param>
    /// <returns>The builder.</returns>
    public static EventSourcingBuilder UseS2(this EventSourcingBuilder builder, Basin basin, S2StoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(basin);
        return builder
            .UseSnapshotStore(() => new S2SnapshotStore(basin, options))
            .UseEventStore(context => new S2EventStore(context, basin, options));
    }
}
