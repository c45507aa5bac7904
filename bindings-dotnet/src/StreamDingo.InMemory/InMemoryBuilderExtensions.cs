namespace StreamDingo.InMemory;

/// <summary>Chooses the in-memory stores on an <see cref="EventSourcingBuilder"/>.</summary>
public static class InMemoryBuilderExtensions
{
    /// <summary>Keeps events and snapshots in memory (<see cref="InMemoryEventStore"/>, <see cref="InMemorySnapshotStore"/>).</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static EventSourcingBuilder UseInMemory(this EventSourcingBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseSnapshotStore(() => new InMemorySnapshotStore()).UseEventStore(context => new InMemoryEventStore(context));
    }

    /// <summary>Uses the events of an existing in-memory store and an existing snapshot store (two configurations over one set of data).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="shareEventsWith">The store whose events to use.</param>
    /// <param name="snapshots">The snapshot store to use.</param>
    /// <returns>The builder.</returns>
    public static EventSourcingBuilder UseInMemory(this EventSourcingBuilder builder, InMemoryEventStore shareEventsWith, ISnapshotStore snapshots)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(shareEventsWith);
        ArgumentNullException.ThrowIfNull(snapshots);
        return builder.UseSnapshotStore(() => snapshots).UseEventStore(context => new InMemoryEventStore(context, shareEventsWith));
    }

    /// <summary>Keeps events in memory only (pair it with another snapshot store, e.g. <see cref="EventSourcingBuilder.UseFileSystemSnapshots"/>).</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static EventSourcingBuilder UseInMemoryEvents(this EventSourcingBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseEventStore(context => new InMemoryEventStore(context));
    }
}
