using System.Text;
using System.Text.Json;
using DurableStreams;
using DurableStreams.Tests.Infrastructure;
using StreamDingo.DurableStreams;
using StreamDingo.InMemory;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

/// <summary>
/// With <see cref="StreamDingoOptions.ParallelReplay"/>, long streams are decoded and hash-checked
/// on several cores (large read chunks, batches of the replay): failures must still be reported at
/// the first bad event, in stream order, exactly as when events are checked one by one.
/// </summary>
public sealed class LongStreamIntegrityTests
{
    private const int Events = 3000;

    private static async Task<(EventSourcing Dingo, InMemoryEventStore Events)> LongStreamAsync(bool parallel = true)
    {
        var dingo = Dingo.InMemory(b => b.Configure(o => o.ParallelReplay = parallel));
        await dingo.Store.AppendEventsAsync("acc", 0, Dingo.Opening());
        for (var version = 1; version < Events; version += 333)
        {
            await dingo.Store.AppendEventsAsync("acc", version, Dingo.Deposits(Math.Min(333, Events - version), 1));
        }
        return (dingo, (InMemoryEventStore)dingo.Store);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_long_stream_replays_to_the_same_state_as_its_events_one_by_one(bool parallel)
    {
        var (dingo, _) = await LongStreamAsync(parallel);
        var loaded = await dingo.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal(((long)Events, Events - 1m, Events), (loaded.Version, loaded.State!.Balance, loaded.State.Operations));
        Assert.Equal(Events, await dingo.Integrity.VerifyStreamAsync(dingo.Store, "acc"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Of_several_changed_events_in_a_long_stream_the_first_is_reported(bool parallel)
    {
        var (dingo, events) = await LongStreamAsync(parallel);
        foreach (var version in new long[] { 2600, 1500, 2500, 1501 })
        {
            events.TamperWith("acc", version, e => e with { Data = Encoding.UTF8.GetBytes("{\"Amount\":1000}") });
        }
        var e = await Assert.ThrowsAsync<EventIntegrityException>(async () => await dingo.Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(1500, e.Version);
        Assert.Contains("changed after it was written", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadEventsAsync_returns_every_event_before_a_changed_one_then_reports_it()
    {
        var (dingo, events) = await LongStreamAsync();
        events.TamperWith("acc", 1000, e => e with { Data = Encoding.UTF8.GetBytes("{\"Amount\":1000}") });
        events.TamperWith("acc", 1001, e => e with { Data = Encoding.UTF8.GetBytes("{\"Amount\":1000}") });
        var read = 0;
        var e = await Assert.ThrowsAsync<EventIntegrityException>(async () =>
        {
            await foreach (var _ in dingo.Store.ReadEventsAsync("acc"))
            {
                read++;
            }
        });
        Assert.Equal((999, 1000L), (read, e.Version));
        Assert.Equal(3000 - 1002 + 1, await CountAsync(dingo.Store.ReadEventsAsync("acc", 1002)));
    }

    private static async Task<int> CountAsync(IAsyncEnumerable<IEvent> events)
    {
        var count = 0;
        await foreach (var _ in events)
        {
            count++;
        }
        return count;
    }

    [Fact]
    public async Task A_forged_event_with_a_recomputed_hash_in_a_long_stream_breaks_the_chain_at_the_next_event()
    {
        var (dingo, events) = await LongStreamAsync();
        events.TamperWith("acc", 2048, e =>
        {
            var forged = e with { Data = Encoding.UTF8.GetBytes("{\"Amount\":1000}") };
            return forged with { Hash = EventHashChain.Compute(Sha256HashProvider.Instance, forged) };
        });
        var e = await Assert.ThrowsAsync<EventIntegrityException>(async () => await dingo.Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(2049, e.Version); // 2048 ends one batch of the replay, 2049 starts the next
        Assert.Contains("chain", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_handler_failure_before_a_changed_event_is_reported_first()
    {
        var (dingo, events) = await LongStreamAsync();
        // Written through the store, which runs no handler: the replay's handler refuses it.
        await dingo.Store.AppendEventsAsync("acc", Events, [new MoneyWithdrawn(1_000_000), .. Dingo.Deposits(10)]);
        events.TamperWith("acc", Events + 5, e => e with { Data = Encoding.UTF8.GetBytes("{\"Amount\":1000}") });
        var e = await Assert.ThrowsAsync<EventHandlerException>(async () => await dingo.Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(Events + 1, e.Version);
    }
}

/// <summary>The same on the servers, where a catch-up of a long stream is one chunk decoded in parallel.</summary>
[Collection(WriteCollection.Name)]
public sealed class LongStreamServerIntegrityTests : ServerTest
{
    private const int Events = 3000;

    public LongStreamServerIntegrityTests(ServerFixture fixture) : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    // Parallel replay on: the store decodes a chunk of 2,048 messages or more in parallel slices (the sequential path is every other test's).
    private static async Task<(DurableStreamsStoreOptions Paths, string TailHash)> LongStreamAsync(DurableStreamClient client)
    {
        var paths = new DurableStreamsStoreOptions { PathPrefix = $"/streamdingo-tests/{Guid.NewGuid():N}" };
        var writer = DurableStreamsStores.Deposits(client, paths, parallelReplay: true);
        await writer.Store.AppendEventsAsync("acc", 0, Dingo.Opening());
        EventAppendResult last = default!;
        for (var version = 1; version < Events; version += 500)
        {
            last = await writer.Store.AppendEventsAsync("acc", version, Dingo.Deposits(Math.Min(500, Events - version), 1));
        }
        return (paths, last.LastHash);
    }

    private static byte[] AsJsonArray(EventEnvelope envelope)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            EventEnvelopeJson.Write(writer, envelope);
            writer.WriteEndArray();
        }
        return buffer.WrittenSpan.ToArray();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_long_stream_loads_whole_and_from_a_remembered_position(string kind)
    {
        await using var client = NewClient(kind);
        var (paths, _) = await LongStreamAsync(client);
        var fresh = DurableStreamsStores.Deposits(client, paths, parallelReplay: true);
        var loaded = await fresh.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal(((long)Events, Events - 1m), (loaded.Version, loaded.State!.Balance));
        var versions = new List<long>();
        await foreach (var envelope in fresh.Store.ReadEnvelopesAsync("acc", 2500))
        {
            versions.Add(envelope.Version);
        }
        Assert.Equal(Enumerable.Range(2500, Events - 2499).Select(v => (long)v), versions);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_message_that_is_not_an_envelope_in_a_long_stream_is_reported(string kind)
    {
        await using var client = NewClient(kind);
        var (paths, _) = await LongStreamAsync(client);
        await client.GetStream(paths.EventStreamPath("acc")).AppendAsync("[{\"hello\":1}]");
        var load = await Assert.ThrowsAsync<EventIntegrityException>(async () => await DurableStreamsStores.Deposits(client, paths, parallelReplay: true).Aggregates.LoadAsync<Account>("acc"));
        Assert.Contains("not an event envelope", load.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_event_changed_on_the_server_in_a_long_stream_is_reported_with_its_version(string kind)
    {
        await using var client = NewClient(kind);
        var (paths, tailHash) = await LongStreamAsync(client);
        var honest = new EventEnvelope("acc", Events + 1, "MoneyDeposited", DateTimeOffset.UtcNow, Guid.NewGuid(), "{\"Amount\":1}"u8.ToArray(), tailHash, "");
        honest = honest with { Hash = EventHashChain.Compute(Sha256HashProvider.Instance, honest) };
        var forged = honest with { Data = "{\"Amount\":1000000}"u8.ToArray() };
        await client.GetStream(paths.EventStreamPath("acc")).AppendAsync(AsJsonArray(forged), new AppendOptions { Seq = StreamSeqOf(Events + 1) });

        var e = await Assert.ThrowsAsync<EventIntegrityException>(async () => await DurableStreamsStores.Deposits(client, paths, parallelReplay: true).Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(Events + 1, e.Version);
        Assert.Contains("changed after it was written", e.Message, StringComparison.Ordinal);
    }

    private static string StreamSeqOf(long version) => version.ToString("D20", System.Globalization.CultureInfo.InvariantCulture);
}
