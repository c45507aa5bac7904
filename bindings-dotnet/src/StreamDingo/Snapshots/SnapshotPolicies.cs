namespace StreamDingo;

/// <summary>The built-in snapshot policies.</summary>
public static class SnapshotPolicies
{
    /// <summary>Never automatically: snapshots are taken only by <see cref="IAggregateRepository.CreateSnapshotAsync{TState}"/>.</summary>
    public static ISnapshotPolicy OnDemand { get; } = new OnDemandPolicy();

    /// <summary>A snapshot whenever at least <paramref name="events"/> events were appended since the last one.</summary>
    /// <param name="events">The interval, at least 1.</param>
    /// <returns>The policy.</returns>
    public static ISnapshotPolicy EveryNEvents(int events)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(events, 1);
        return new EveryNEventsPolicy(events);
    }

    private sealed class OnDemandPolicy : ISnapshotPolicy
    {
        public bool ShouldSnapshot(long version, long lastSnapshotVersion) => false;

        public override string ToString() => "OnDemand";
    }

    private sealed class EveryNEventsPolicy(int interval) : ISnapshotPolicy
    {
        public bool ShouldSnapshot(long version, long lastSnapshotVersion) => version - lastSnapshotVersion >= interval;

        public override string ToString() => $"EveryNEvents({interval})";
    }
}
