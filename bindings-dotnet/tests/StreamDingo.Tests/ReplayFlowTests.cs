using StreamDingo.InMemory;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

/// <summary>
/// The seed's flow chart, branch by branch. Each "build" is a configuration whose deposit handler
/// carries the hash the real generator computes for one version of its source; the behaviour
/// differs too (the bonus build adds 1 per deposit), so a wrong branch shows in the balance.
/// </summary>
public sealed class ReplayFlowTests
{
    private readonly InMemoryEventStore _events = (InMemoryEventStore)Dingo.InMemory().Store;
    private readonly InMemorySnapshotStore _snapshots = new();

    private EventSourcing Build(string depositSource, bool bonus)
    {
        var hash = GeneratedHashes.HashOf(depositSource, DepositHandlerBuilds.Name);
        var builder = new EventSourcingBuilder().WithDomain().UseInMemory(_events, _snapshots);
        return bonus
            ? builder.AddHandler(new MoneyDepositedWithBonusHandler(), new HandlerHash(DepositHandlerBuilds.Name, hash)).Build()
            : builder.AddHandler(new MoneyDepositedHandler(), new HandlerHash(DepositHandlerBuilds.Name, hash)).Build();
    }

    [Fact]
    public async Task Every_branch_of_the_replay_flow_picks_the_right_starting_point()
    {
        var original = Build(DepositHandlerBuilds.Original, bonus: false);
        await original.Aggregates.AppendAsync<Account>("acc", ExpectedVersion.NoStream, Dingo.Opening());
        await original.Aggregates.AppendAsync<Account>("acc", 1, Dingo.Deposits(3));

        // No snapshot: replay from the beginning.
        var loaded = await original.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromBeginning, 4L, 0L, 4L, 30m), (loaded.Source, loaded.Version, loaded.SnapshotVersion, loaded.EventsApplied, loaded.State!.Balance));

        // Hashes match: replay from the latest snapshot, applying only the events after it.
        var snapshot = await original.Aggregates.CreateSnapshotAsync<Account>("acc");
        Assert.Equal(4, snapshot.Version);
        await original.Aggregates.AppendAsync<Account>("acc", 4, Dingo.Deposits(2));
        loaded = await original.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromLatestSnapshot, 6L, 4L, 2L, 50m), (loaded.Source, loaded.Version, loaded.SnapshotVersion, loaded.EventsApplied, loaded.State!.Balance));

        // A rebuild where only layout and comments changed: still the same handler.
        var reformatted = Build(DepositHandlerBuilds.Reformatted, bonus: false);
        loaded = await reformatted.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromLatestSnapshot, 4L), (loaded.Source, loaded.SnapshotVersion));

        // The handler's code changed and no snapshot fits: replay from the beginning with the new code, then snapshot.
        var bonus = Build(DepositHandlerBuilds.WithBonus, bonus: true);
        loaded = await bonus.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromBeginningAfterHandlerChange, 0L, 6L, 55m), (loaded.Source, loaded.SnapshotVersion, loaded.EventsApplied, loaded.State!.Balance));
        loaded = await bonus.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromLatestSnapshot, 6L, 0L, 55m), (loaded.Source, loaded.SnapshotVersion, loaded.EventsApplied, loaded.State!.Balance));

        // Back to the original code (a rollback): the newest snapshot is the bonus build's, the older one fits.
        loaded = await original.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromCompatibleSnapshot, 4L, 2L, 50m), (loaded.Source, loaded.SnapshotVersion, loaded.EventsApplied, loaded.State!.Balance));

        // The compatible replay saved a snapshot built by the original code: the next load starts from it.
        loaded = await original.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromLatestSnapshot, 6L, 50m), (loaded.Source, loaded.SnapshotVersion, loaded.State!.Balance));
    }

    [Fact]
    public async Task A_handler_added_or_removed_makes_a_snapshot_incompatible()
    {
        var original = Build(DepositHandlerBuilds.Original, bonus: false);
        await original.Aggregates.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(2)]);
        var snapshot = await original.Aggregates.CreateSnapshotAsync<Account>("acc");
        Assert.True(original.Handlers.IsCompatible<Account>(snapshot.HandlerHashes));

        var extra = new Dictionary<string, string>(snapshot.HandlerHashes) { ["Some.OtherHandler"] = new string('a', 64) };
        Assert.False(original.Handlers.IsCompatible<Account>(extra));
        var missing = new Dictionary<string, string>(snapshot.HandlerHashes);
        missing.Remove(DepositHandlerBuilds.Name);
        Assert.False(original.Handlers.IsCompatible<Account>(missing));

        var withoutDeposit = new EventSourcingBuilder().WithDomain().UseInMemory(_events, _snapshots).Build();
        var loaded = await withoutDeposit.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal(ReplaySource.FromBeginningAfterHandlerChange, loaded.Source);
        Assert.Equal(0m, loaded.State!.Balance); // no deposit handler any more: deposits are not applied
    }

    [Fact]
    public async Task ReplayEventsAsync_and_ReplayFromSnapshotAsync_give_the_same_state()
    {
        var dingo = Dingo.InMemory();
        await dingo.Aggregates.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(5, 3)]);
        var snapshot = await dingo.Aggregates.CreateSnapshotAsync<Account>("acc");
        await dingo.Aggregates.AppendAsync<Account>("acc", 6, Dingo.Deposits(2, 3));

        var full = await dingo.Replay.ReplayEventsAsync<Account>("acc");
        var fromSnapshot = await dingo.Replay.ReplayFromSnapshotAsync("acc", snapshot);
        Assert.Equal(full, fromSnapshot);
        Assert.Equal(21m, full.Balance);
        Assert.Equal(8, full.Operations);

        var latest = await dingo.Store.GetLatestSnapshotAsync<Account>("acc");
        Assert.NotNull(latest);
        Assert.Equal((6L, snapshot.Hash, snapshot.EventHash), (latest.Version, latest.Hash, latest.EventHash));
        Assert.Equal(snapshot.HandlerHashes, latest.HandlerHashes);
        Assert.Equal(64, latest.Hash.Length);
    }

    [Fact]
    public async Task An_empty_stream_has_no_state()
    {
        var dingo = Dingo.InMemory();
        var loaded = await dingo.Aggregates.LoadAsync<Account>("nobody");
        Assert.Null(loaded.State);
        Assert.Equal((0L, EventHashChain.GenesisHash), (loaded.Version, loaded.EventHash));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await dingo.Replay.ReplayEventsAsync<Account>("nobody"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await dingo.Aggregates.CreateSnapshotAsync<Account>("nobody"));
        Assert.Null(await dingo.Store.GetLatestSnapshotAsync<Account>("nobody"));
    }

    [Fact]
    public async Task Snapshots_are_taken_every_N_events_by_that_policy_and_only_on_demand_by_default()
    {
        var snapshots = new InMemorySnapshotStore();
        var every4 = new EventSourcingBuilder().WithDomain().AddHandler(new MoneyDepositedHandler())
            .UseSnapshotStore(() => snapshots).UseInMemoryEvents().SnapshotEvery(4).Build();
        await every4.Aggregates.AppendAsync<Account>("acc", 0, Dingo.Opening());
        for (var version = 1; version < 10; version++)
        {
            await every4.Aggregates.AppendAsync<Account>("acc", version, Dingo.Deposits(1));
        }
        var versions = new List<long>();
        await foreach (var record in snapshots.ReadNewestFirstAsync("acc", "Account"))
        {
            versions.Add(record.Version);
        }
        Assert.Equal([8L, 4L], versions);
        var loaded = await every4.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromLatestSnapshot, 8L, 2L, 90m), (loaded.Source, loaded.SnapshotVersion, loaded.EventsApplied, loaded.State!.Balance));

        var onDemandSnapshots = new InMemorySnapshotStore();
        var onDemand = new EventSourcingBuilder().WithDomain().AddHandler(new MoneyDepositedHandler())
            .UseSnapshotStore(() => onDemandSnapshots).UseInMemoryEvents().Build();
        await onDemand.Aggregates.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(20)]);
        await foreach (var unexpected in onDemandSnapshots.ReadNewestFirstAsync("acc", "Account"))
        {
            Assert.Fail($"On demand took a snapshot by itself at {unexpected.Version}.");
        }
        Assert.Equal(21, (await onDemand.Aggregates.CreateSnapshotAsync<Account>("acc")).Version);
    }

    [Fact]
    public void Policies_decide_by_the_events_since_the_last_snapshot()
    {
        var policy = SnapshotPolicies.EveryNEvents(3);
        Assert.False(policy.ShouldSnapshot(2, 0));
        Assert.True(policy.ShouldSnapshot(3, 0));
        Assert.False(policy.ShouldSnapshot(5, 3));
        Assert.True(policy.ShouldSnapshot(7, 3));
        Assert.False(SnapshotPolicies.OnDemand.ShouldSnapshot(1_000_000, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SnapshotPolicies.EveryNEvents(0));
    }
}
