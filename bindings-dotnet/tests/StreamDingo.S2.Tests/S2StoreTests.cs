using System.Text.Json.Serialization;
using S2.StreamStore;
using S2.StreamStore.Tests;
using StreamDingo.S2;

namespace StreamDingo.S2.Tests;

public sealed record Tally(long Total, long Count);

public sealed record Added(long By) : IEvent;

public sealed class AddedHandler : IEventHandler<Tally, Added>
{
    public Tally Handle(Tally? previousSnapshot, Added @event)
    {
        var tally = previousSnapshot ?? new Tally(0, 0);
        return new Tally(tally.Total + @event.By, tally.Count + 1);
    }
}

[JsonSerializable(typeof(Tally))]
[JsonSerializable(typeof(Added))]
public sealed partial class TallyJson : JsonSerializerContext;

public sealed class S2StoreTests
{
    private static async Task<(S2Client Client, Basin Basin)> NewBasinAsync()
    {
        var client = Lite.NewClient();
        var name = Lite.BasinName("dingo");
        await client.CreateBasinAsync(name, cancellationToken: Lite.Timeout());
        return (client, client.Basin(name));
    }

    private static EventSourcing Build(Basin basin, S2StoreOptions? options = null) => new EventSourcingBuilder()
        .AddEvent("Added", TallyJson.Default.Added)
        .AddState("Tally", TallyJson.Default.Tally)
        .AddHandler(new AddedHandler())
        .UseS2(basin, options)
        .Build();

    private static IEvent[] Adds(params long[] values) => values.Select(v => (IEvent)new Added(v)).ToArray();

    [LiteFact]
    public async Task Racing_writers_on_one_aggregate_produce_exactly_one_winner_per_version()
    {
        var (setup, basin) = await NewBasinAsync();
        using var _ = setup;
        await Build(basin).Store.AppendEventsAsync("agg", 0, Adds(0));
        var clients = Enumerable.Range(0, 6).Select(_ => Lite.NewClient()).ToArray();
        try
        {
            for (var round = 0; round < 3; round++)
            {
                var stores = clients.Select(c => Build(c.Basin(basin.Name)).Store).ToArray();
                var expected = await stores[0].GetVersionAsync("agg");
                foreach (var store in stores)
                {
                    Assert.Equal(expected, await store.GetVersionAsync("agg"));
                }
                var outcomes = await Task.WhenAll(stores.Select((store, n) => Task.Run(async () =>
                {
                    try
                    {
                        await store.AppendEventsAsync("agg", expected, Adds(round * 100 + n, round * 100 + n));
                        return n;
                    }
                    catch (ConcurrencyException e)
                    {
                        Assert.Equal(expected + 2, e.ActualVersion);
                        return -1;
                    }
                })));
                var winner = Assert.Single(outcomes, o => o >= 0);
                var values = new List<long>();
                await foreach (var e in Build(basin).Store.ReadEventsAsync("agg", expected + 1))
                {
                    values.Add(((Added)e).By);
                }
                Assert.Equal([round * 100 + winner, round * 100 + winner], values);
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [LiteFact]
    public async Task An_append_by_any_other_writer_makes_a_stale_expected_version_fail()
    {
        var (client, basin) = await NewBasinAsync();
        using var _ = client;
        var dingo = Build(basin);
        await dingo.Store.AppendEventsAsync("agg", 0, Adds(1, 2));
        // A plain S2 append that bypasses StreamDingo: match_seq_num still sees it.
        using (var raw = basin.Stream(new S2StoreOptions().EventStreamName("agg")))
        {
            await raw.AppendAsync(new AppendRecord("{\"not\":\"an envelope\"}"));
        }
        var e = await Assert.ThrowsAsync<EventIntegrityException>(async () => await dingo.Store.AppendEventsAsync("agg", 2, Adds(3)));
        Assert.Contains("not an event envelope", e.Message, StringComparison.Ordinal);
    }

    [LiteFact]
    public async Task A_fenced_aggregate_refuses_writers_without_its_token_and_commands_do_not_break_versions()
    {
        var (client, basin) = await NewBasinAsync();
        using var _ = client;
        var owner = Build(basin, new S2StoreOptions { FencingToken = "owner" });
        await ((S2EventStore)owner.Store).FenceAsync("agg", "owner");
        await owner.Store.AppendEventsAsync("agg", 0, Adds(1));

        var intruder = Build(basin, new S2StoreOptions { FencingToken = "intruder" });
        var refused = await Assert.ThrowsAsync<StreamDingoException>(async () => await intruder.Store.AppendEventsAsync("agg", 1, Adds(99)));
        Assert.Contains("fenced", refused.Message, StringComparison.Ordinal);

        // A second fence (a command record) moves the sequence number but not the version.
        await ((S2EventStore)owner.Store).FenceAsync("agg", "owner", currentToken: "owner");
        await owner.Store.AppendEventsAsync("agg", 1, Adds(2));
        var loaded = await Build(basin).Aggregates.LoadAsync<Tally>("agg");
        Assert.Equal((2L, new Tally(3, 2)), (loaded.Version, loaded.State));
    }

    [LiteFact]
    public async Task Snapshots_replay_and_tampering_work_on_s2()
    {
        var (client, basin) = await NewBasinAsync();
        using var _ = client;
        var dingo = Build(basin);
        await dingo.Aggregates.AppendAsync<Tally>("agg", 0, Adds(1, 2, 3));
        await dingo.Aggregates.CreateSnapshotAsync<Tally>("agg");
        await dingo.Aggregates.AppendAsync<Tally>("agg", 3, Adds(4));
        var loaded = await Build(basin).Aggregates.LoadAsync<Tally>("agg");
        Assert.Equal((ReplaySource.FromLatestSnapshot, 3L, new Tally(10, 4)), (loaded.Source, loaded.SnapshotVersion, loaded.State));

        var appendId = Guid.NewGuid();
        await dingo.Store.AppendEventsAsync("agg", 4, Adds(5), appendId);
        Assert.True((await Build(basin).Store.AppendEventsAsync("agg", 4, Adds(5), appendId)).Duplicate);

        // A forged event (content changed after hashing) written with the right match_seq_num.
        var tail = new List<EventEnvelope>();
        await foreach (var envelope in dingo.Store.ReadEnvelopesAsync("agg"))
        {
            tail.Add(envelope);
        }
        var honest = new EventEnvelope("agg", 6, "Added", DateTimeOffset.UtcNow, Guid.NewGuid(), "{\"By\":1}"u8.ToArray(), tail[^1].Hash, "");
        honest = honest with { Hash = EventHashChain.Compute(Sha256HashProvider.Instance, honest) };
        var forged = honest with { Data = "{\"By\":1000}"u8.ToArray() };
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            EventEnvelopeJson.Write(writer, forged);
        }
        using (var raw = basin.Stream(new S2StoreOptions().EventStreamName("agg")))
        {
            await raw.AppendAsync(new AppendRecord(buffer.WrittenMemory.ToArray()), new AppendOptions { MatchSeqNum = 5 });
        }
        var e = await Assert.ThrowsAsync<EventIntegrityException>(async () => await Build(basin).Aggregates.LoadAsync<Tally>("agg"));
        Assert.Equal(6, e.Version);
    }
}
