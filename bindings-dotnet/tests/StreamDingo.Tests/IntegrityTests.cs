using System.Text;
using StreamDingo.InMemory;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

public sealed class IntegrityTests
{
    private static async Task<(EventSourcing Dingo, InMemoryEventStore Events)> FiveEventsAsync()
    {
        var dingo = Dingo.InMemory();
        await dingo.Aggregates.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(4)]);
        return (dingo, (InMemoryEventStore)dingo.Store);
    }

    [Fact]
    public async Task Each_event_hash_chains_to_the_previous_one()
    {
        var (dingo, _) = await FiveEventsAsync();
        var previous = EventHashChain.GenesisHash;
        await foreach (var envelope in dingo.Store.ReadEnvelopesAsync("acc"))
        {
            Assert.Equal(previous, envelope.PreviousHash);
            Assert.Equal(EventHashChain.Compute(Sha256HashProvider.Instance, envelope), envelope.Hash);
            previous = envelope.Hash;
        }
        Assert.Equal(5, await dingo.Integrity.VerifyStreamAsync(dingo.Store, "acc"));
    }

    [Fact]
    public async Task An_event_whose_bytes_were_changed_is_reported_with_its_version()
    {
        var (dingo, events) = await FiveEventsAsync();
        events.TamperWith("acc", 3, e => e with { Data = Encoding.UTF8.GetBytes("{\"Amount\":1000}") });

        var load = await Assert.ThrowsAsync<EventIntegrityException>(async () => await dingo.Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(("acc", 3L), (load.StreamId, load.Version));
        Assert.Contains("changed", load.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<EventIntegrityException>(async () =>
        {
            await foreach (var _ in dingo.Store.ReadEventsAsync("acc"))
            {
            }
        });
        await Assert.ThrowsAsync<EventIntegrityException>(async () => await dingo.Integrity.VerifyStreamAsync(dingo.Store, "acc"));
    }

    [Fact]
    public async Task An_event_rewritten_with_a_recomputed_hash_breaks_the_chain_at_the_next_event()
    {
        var (dingo, events) = await FiveEventsAsync();
        events.TamperWith("acc", 3, e =>
        {
            var forged = e with { Data = Encoding.UTF8.GetBytes("{\"Amount\":1000}") };
            return forged with { Hash = EventHashChain.Compute(Sha256HashProvider.Instance, forged) };
        });
        var e = await Assert.ThrowsAsync<EventIntegrityException>(async () => await dingo.Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(4, e.Version);
        Assert.Contains("chain", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_or_reordered_event_is_reported()
    {
        var (dingo, events) = await FiveEventsAsync();
        events.TamperWith("acc", 2, e => e with { Version = 3 });
        var e = await Assert.ThrowsAsync<EventIntegrityException>(async () => await dingo.Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(2, e.Version);
        Assert.Contains("missing, duplicated or reordered", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_snapshot_whose_state_was_changed_is_never_used()
    {
        var snapshots = new InMemorySnapshotStore();
        var dingo = new EventSourcingBuilder().WithDomain().AddHandler(new MoneyDepositedHandler()).UseSnapshotStore(() => snapshots).UseInMemoryEvents().Build();
        await dingo.Aggregates.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(4)]);
        await dingo.Aggregates.CreateSnapshotAsync<Account>("acc");
        snapshots.TamperWithNewest("acc", "Account", r => r with { State = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(r.State.Span).Replace("\"Balance\":40", "\"Balance\":4000", StringComparison.Ordinal)) });

        var e = await Assert.ThrowsAsync<SnapshotIntegrityException>(async () => await dingo.Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(("acc", 5L), (e.StreamId, e.Version));
        Assert.NotEqual(e.StoredHash, e.ActualHash);
        await Assert.ThrowsAsync<SnapshotIntegrityException>(async () => await dingo.Store.GetLatestSnapshotAsync<Account>("acc"));
    }

    [Fact]
    public async Task A_snapshot_not_built_from_the_streams_events_is_rejected()
    {
        var snapshots = new InMemorySnapshotStore();
        var dingo = new EventSourcingBuilder().WithDomain().AddHandler(new MoneyDepositedHandler()).UseSnapshotStore(() => snapshots).UseInMemoryEvents().Build();
        await dingo.Aggregates.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(4)]);
        await dingo.Aggregates.CreateSnapshotAsync<Account>("acc");
        snapshots.TamperWithNewest("acc", "Account", r => r with { EventHash = new string('f', 64) });
        var e = await Assert.ThrowsAsync<SnapshotIntegrityException>(async () => await dingo.Aggregates.LoadAsync<Account>("acc"));
        Assert.Contains("not built from these events", e.Message, StringComparison.Ordinal);

        snapshots.TamperWithNewest("acc", "Account", r => r with { Version = 50 });
        var beyond = await Assert.ThrowsAsync<SnapshotIntegrityException>(async () => await dingo.Aggregates.LoadAsync<Account>("acc"));
        Assert.Contains("fewer than 50 events", beyond.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_snapshot_object_whose_hash_does_not_match_its_state_is_refused()
    {
        var dingo = Dingo.InMemory();
        await dingo.Aggregates.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(2)]);
        var snapshot = await dingo.Aggregates.CreateSnapshotAsync<Account>("acc");
        var forged = new Snapshot<Account>
        {
            StreamId = snapshot.StreamId,
            Version = snapshot.Version,
            State = snapshot.State with { Balance = 1_000_000 },
            Hash = snapshot.Hash,
            HandlerHashes = snapshot.HandlerHashes,
            EventHash = snapshot.EventHash,
        };
        await Assert.ThrowsAsync<SnapshotIntegrityException>(async () => await dingo.Replay.ReplayFromSnapshotAsync("acc", forged));
        await Assert.ThrowsAsync<SnapshotIntegrityException>(async () => await dingo.Store.SaveSnapshotAsync("acc", forged));
    }

    [Fact]
    public void The_chain_hash_covers_every_field()
    {
        var provider = Sha256HashProvider.Instance;
        var time = new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
        var id = Guid.NewGuid();
        var data = "{\"a\":1}"u8.ToArray();
        var baseline = EventHashChain.Compute(provider, EventHashChain.GenesisHash, 1, "T", time, id, data);
        Assert.Equal(baseline, EventHashChain.Compute(provider, EventHashChain.GenesisHash, 1, "T", time, id, data));
        Assert.NotEqual(baseline, EventHashChain.Compute(provider, new string('1', 64), 1, "T", time, id, data));
        Assert.NotEqual(baseline, EventHashChain.Compute(provider, EventHashChain.GenesisHash, 2, "T", time, id, data));
        Assert.NotEqual(baseline, EventHashChain.Compute(provider, EventHashChain.GenesisHash, 1, "U", time, id, data));
        Assert.NotEqual(baseline, EventHashChain.Compute(provider, EventHashChain.GenesisHash, 1, "T", time.AddTicks(1), id, data));
        Assert.NotEqual(baseline, EventHashChain.Compute(provider, EventHashChain.GenesisHash, 1, "T", time, Guid.NewGuid(), data));
        Assert.NotEqual(baseline, EventHashChain.Compute(provider, EventHashChain.GenesisHash, 1, "T", time, id, "{\"a\":2}"u8));
        Assert.Matches("^[0-9a-f]{64}$", baseline);
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", provider.ComputeHashHex("abc"u8));
    }
}
