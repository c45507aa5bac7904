using System.Buffers;
using System.Text;
using System.Text.Json;
using DurableStreams;
using DurableStreams.Tests.Infrastructure;
using StreamDingo.DurableStreams;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

/// <summary>The Durable Streams store against Electric's server and the Node reference server.</summary>
[Collection(WriteCollection.Name)]
public sealed class DurableStreamsStoreTests : ServerTest
{
    public DurableStreamsStoreTests(ServerFixture fixture) : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    private static EventSourcing Build(DurableStreamClient client, DurableStreamsStoreOptions paths, Action<EventSourcingBuilder>? configure = null)
    {
        var builder = new EventSourcingBuilder().WithDomain().UseDurableStreams(client, paths);
        if (configure is null)
        {
            builder.AddHandler(new MoneyDepositedHandler());
        }
        else
        {
            configure(builder);
        }
        return builder.Build();
    }

    private EventSourcing BuildWithDeposit(DurableStreamClient client, DurableStreamsStoreOptions paths, string depositSource, bool bonus)
    {
        var hash = new HandlerHash(DepositHandlerBuilds.Name, GeneratedHashes.HashOf(depositSource, DepositHandlerBuilds.Name));
        return Build(client, paths, b =>
        {
            if (bonus)
            {
                b.AddHandler(new MoneyDepositedWithBonusHandler(), hash);
            }
            else
            {
                b.AddHandler(new MoneyDepositedHandler(), hash);
            }
        });
    }

    private static async Task<List<string>> RawMessagesAsync(DurableStreamClient client, string path)
    {
        await using var response = await client.GetStream(path).StreamAsync(new StreamOptions { Offset = Offset.Beginning });
        var messages = new List<string>();
        await foreach (var chunk in response.ReadBytesAsync())
        {
            messages.AddRange((chunk.Messages ?? []).Select(m => Encoding.UTF8.GetString(m.Span)));
        }
        return messages;
    }

    private static byte[] AsJsonArray(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            write(writer);
            writer.WriteEndArray();
        }
        return buffer.WrittenSpan.ToArray();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Events_are_stored_one_json_envelope_per_event_and_read_back(string kind)
    {
        await using var client = NewClient(kind);
        var paths = DurableStreamsStores.NewPrefix();
        var dingo = Build(client, paths);
        await dingo.Aggregates.AppendAsync<Account>("acc/1", ExpectedVersion.NoStream, [.. Dingo.Opening(), .. Dingo.Deposits(3, 2.5m)]);
        await dingo.Aggregates.AppendAsync<Account>("acc/1", 4, [new MoneyWithdrawn(1)]);

        var messages = await RawMessagesAsync(client, paths.EventStreamPath("acc/1"));
        Assert.Equal(5, messages.Count);
        using (var first = JsonDocument.Parse(messages[0]))
        {
            Assert.Equal(1, first.RootElement.GetProperty("version").GetInt64());
            Assert.Equal("AccountOpened", first.RootElement.GetProperty("type").GetString());
            Assert.Equal(EventHashChain.GenesisHash, first.RootElement.GetProperty("previousHash").GetString());
            Assert.Matches("^[0-9a-f]{64}$", first.RootElement.GetProperty("hash").GetString());
            Assert.True(first.RootElement.TryGetProperty("timestamp", out _));
            Assert.Equal("{\"Id\":\"acc-1\",\"Owner\":\"Ada\"}", first.RootElement.GetProperty("data").GetString());
        }

        var fresh = Build(client, paths);
        var loaded = await fresh.Aggregates.LoadAsync<Account>("acc/1");
        Assert.Equal((5L, 6.5m, 5), (loaded.Version, loaded.State!.Balance, loaded.State.Operations));
        Assert.Equal(5, await fresh.Integrity.VerifyStreamAsync(fresh.Store, "acc/1"));
        Assert.Equal(0, await fresh.Store.GetVersionAsync("never-written"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Racing_writers_on_one_aggregate_produce_exactly_one_winner_per_version(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var setupClient = NewClient(kind);
        await Build(setupClient, paths).Store.AppendEventsAsync("acc", 0, Dingo.Opening());

        // Independent writers: each its own client and store (its own cache), as separate processes would be.
        const int writers = 6;
        var clients = Enumerable.Range(0, writers).Select(_ => NewClient(kind)).ToArray();
        try
        {
            for (var round = 0; round < 3; round++)
            {
                var stores = clients.Select(c => Build(c, paths).Store).ToArray();
                var expected = await stores[0].GetVersionAsync("acc");
                foreach (var store in stores)
                {
                    Assert.Equal(expected, await store.GetVersionAsync("acc")); // every writer has seen the same tail
                }
                var marker = round * 100;
                var outcomes = await Task.WhenAll(stores.Select((store, n) => Task.Run(async () =>
                {
                    try
                    {
                        await store.AppendEventsAsync("acc", expected, [new MoneyDeposited(marker + n), new MoneyDeposited(marker + n)]);
                        return n;
                    }
                    catch (ConcurrencyException e)
                    {
                        Assert.Equal((expected, expected + 2), (e.ExpectedVersion, e.ActualVersion));
                        return -1;
                    }
                })));
                var winner = Assert.Single(outcomes, o => o >= 0);

                var amounts = new List<decimal>();
                await foreach (var e in Build(setupClient, paths).Store.ReadEventsAsync("acc", expected + 1))
                {
                    amounts.Add(((MoneyDeposited)e).Amount);
                }
                Assert.Equal([marker + winner, marker + winner], amounts); // the losers' events are absent
            }
            Assert.Equal(7, (await RawMessagesAsync(setupClient, paths.EventStreamPath("acc"))).Count);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_writer_with_a_stale_view_is_refused_and_writes_nothing(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var clientA = NewClient(kind);
        await using var clientB = NewClient(kind);
        var a = Build(clientA, paths);
        var b = Build(clientB, paths);
        await a.Store.AppendEventsAsync("acc", 0, Dingo.Opening());
        Assert.Equal(1, await b.Store.GetVersionAsync("acc")); // b's cache: version 1
        await a.Store.AppendEventsAsync("acc", 1, Dingo.Deposits(3));

        var stale = await Assert.ThrowsAsync<ConcurrencyException>(async () => await b.Store.AppendEventsAsync("acc", 1, [new MoneyDeposited(77)]));
        Assert.Equal((1L, 4L), (stale.ExpectedVersion, stale.ActualVersion));
        var inside = await Assert.ThrowsAsync<ConcurrencyException>(async () => await b.Store.AppendEventsAsync("acc", 2, [new MoneyDeposited(77)]));
        Assert.Equal(4, inside.ActualVersion); // a version inside another writer's batch was never a tail
        var ahead = await Assert.ThrowsAsync<ConcurrencyException>(async () => await b.Store.AppendEventsAsync("acc", 9, [new MoneyDeposited(77)]));
        Assert.Equal(4, ahead.ActualVersion);
        Assert.DoesNotContain((await RawMessagesAsync(clientA, paths.EventStreamPath("acc"))), m => m.Contains(":77}", StringComparison.Ordinal));

        await b.Store.AppendEventsAsync("acc", 4, [new MoneyDeposited(5)]);
        Assert.Equal(5, await a.Store.GetVersionAsync("acc"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_retried_append_is_stored_once(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        var dingo = Build(client, paths);
        var appendId = Guid.NewGuid();
        var first = await dingo.Store.AppendEventsAsync("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(1)], appendId);
        // The retry comes from another process that never saw the first answer.
        await using var otherClient = NewClient(kind);
        var retry = await Build(otherClient, paths).Store.AppendEventsAsync("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(1)], appendId);
        Assert.False(first.Duplicate);
        Assert.True(retry.Duplicate);
        Assert.Equal(first.LastHash, retry.LastHash);
        Assert.Equal(2, (await RawMessagesAsync(client, paths.EventStreamPath("acc"))).Count);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_replay_flow_picks_the_right_snapshot_on_the_server(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        var original = BuildWithDeposit(client, paths, DepositHandlerBuilds.Original, bonus: false);
        await original.Aggregates.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(3)]);
        var loaded = await original.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromBeginning, 30m), (loaded.Source, loaded.State!.Balance));

        await original.Aggregates.CreateSnapshotAsync<Account>("acc");
        await original.Aggregates.AppendAsync<Account>("acc", 4, Dingo.Deposits(2));
        loaded = await BuildWithDeposit(client, paths, DepositHandlerBuilds.Reformatted, bonus: false).Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromLatestSnapshot, 4L, 2L, 50m), (loaded.Source, loaded.SnapshotVersion, loaded.EventsApplied, loaded.State!.Balance));

        var bonus = BuildWithDeposit(client, paths, DepositHandlerBuilds.WithBonus, bonus: true);
        loaded = await bonus.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromBeginningAfterHandlerChange, 55m), (loaded.Source, loaded.State!.Balance));
        loaded = await bonus.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromLatestSnapshot, 6L, 55m), (loaded.Source, loaded.SnapshotVersion, loaded.State!.Balance));

        loaded = await BuildWithDeposit(client, paths, DepositHandlerBuilds.Original, bonus: false).Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((ReplaySource.FromCompatibleSnapshot, 4L, 50m), (loaded.Source, loaded.SnapshotVersion, loaded.State!.Balance));
        Assert.Equal(3, (await RawMessagesAsync(client, paths.SnapshotStreamPath("acc"))).Count); // original at 4, bonus at 6, original again at 6
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Event_bytes_tampered_on_the_server_are_detected(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        var dingo = Build(client, paths);
        await dingo.Aggregates.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(1)]);
        var tail = new List<EventEnvelope>();
        await foreach (var envelope in dingo.Store.ReadEnvelopesAsync("acc"))
        {
            tail.Add(envelope);
        }

        // A writer that bypasses the store: a well-formed envelope whose data was changed after hashing, with the right Stream-Seq.
        var honest = new EventEnvelope("acc", 3, "MoneyDeposited", DateTimeOffset.UtcNow, Guid.NewGuid(), "{\"Amount\":1}"u8.ToArray(), tail[^1].Hash, "");
        honest = honest with { Hash = EventHashChain.Compute(Sha256HashProvider.Instance, honest) };
        var forged = honest with { Data = "{\"Amount\":1000000}"u8.ToArray() };
        await client.GetStream(paths.EventStreamPath("acc")).AppendAsync(AsJsonArray(w => EventEnvelopeJson.Write(w, forged)), new AppendOptions { Seq = "00000000000000000003" });

        var e = await Assert.ThrowsAsync<EventIntegrityException>(async () => await Build(client, paths).Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(("acc", 3L), (e.StreamId, e.Version));
        Assert.Contains("changed after it was written", e.Message, StringComparison.Ordinal);

        // Garbage in the stream is reported as well.
        var other = DurableStreamsStores.NewPrefix();
        await Build(client, other).Store.AppendEventsAsync("acc", 0, Dingo.Opening());
        await client.GetStream(other.EventStreamPath("acc")).AppendAsync("[{\"hello\":1}]", new AppendOptions { Seq = "00000000000000000002" });
        var garbage = await Assert.ThrowsAsync<EventIntegrityException>(async () => await Build(client, other).Aggregates.LoadAsync<Account>("acc"));
        Assert.Contains("not an event envelope", garbage.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_snapshot_tampered_on_the_server_is_detected(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        var dingo = Build(client, paths);
        await dingo.Aggregates.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), .. Dingo.Deposits(2)]);
        var snapshot = await dingo.Aggregates.CreateSnapshotAsync<Account>("acc");

        // A newer record whose state was changed but whose hash is the honest one.
        var stored = await RawMessagesAsync(client, paths.SnapshotStreamPath("acc"));
        var record = SnapshotRecordJson.Read(Encoding.UTF8.GetBytes(Assert.Single(stored)));
        Assert.Equal(snapshot.Hash, record.Hash);
        var forged = record with { State = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(record.State.Span).Replace("\"Balance\":20", "\"Balance\":20000", StringComparison.Ordinal)) };
        Assert.NotEqual(record.State.ToArray(), forged.State.ToArray());
        await client.GetStream(paths.SnapshotStreamPath("acc")).AppendAsync(AsJsonArray(w => SnapshotRecordJson.Write(w, forged)));

        var e = await Assert.ThrowsAsync<SnapshotIntegrityException>(async () => await Build(client, paths).Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(3, e.Version);
        Assert.Equal(snapshot.Hash, e.StoredHash);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_unknown_event_type_on_the_server_fails_naming_type_and_version(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        await Build(client, paths).Store.AppendEventsAsync("acc", 0, [new AccountOpened("acc", "Ada"), new NoteAdded("x")]);
        var reader = new EventSourcingBuilder().WithDomain(withNoteType: false).AddHandler(new MoneyDepositedHandler()).UseDurableStreams(client, paths).Build();
        var e = await Assert.ThrowsAsync<UnknownEventTypeException>(async () => await reader.Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(("NoteAdded", 2L), (e.EventType, e.Version));
    }
    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Reads_from_a_version_give_the_same_envelopes_as_a_full_read(string kind)
    {
        var paths = DurableStreamsStores.NewPrefix();
        await using var client = NewClient(kind);
        var writer = Build(client, paths);
        await writer.Store.AppendEventsAsync("acc", 0, Dingo.Opening());
        for (var version = 1; version < 40; version += 3)
        {
            await writer.Store.AppendEventsAsync("acc", version, Dingo.Deposits(3, version));
        }
        var everything = new List<EventEnvelope>();
        await foreach (var envelope in Build(client, paths).Store.ReadEnvelopesAsync("acc"))
        {
            everything.Add(envelope);
        }
        Assert.Equal(Enumerable.Range(1, 40).Select(v => (long)v), everything.Select(e => e.Version));
        foreach (var from in new long[] { 0, 1, 2, 4, 5, 17, 38, 40, 41 })
        {
            var part = new List<EventEnvelope>();
            await foreach (var envelope in writer.Store.ReadEnvelopesAsync("acc", from)) // the writer knows positions inside the stream
            {
                part.Add(envelope);
            }
            Assert.Equal(everything.Where(e => e.Version >= from).Select(e => e.Hash), part.Select(e => e.Hash));
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_stream_never_written_loads_empty_and_the_health_check_passes(string kind)
    {
        await using var client = NewClient(kind);
        var dingo = Build(client, DurableStreamsStores.NewPrefix());
        var loaded = await dingo.Aggregates.LoadAsync<Account>("nobody");
        Assert.Equal((0L, (Account?)null), (loaded.Version, loaded.State));
        Assert.Null(await dingo.Store.GetLatestSnapshotAsync<Account>("nobody"));
        var check = new StreamDingoHealthCheck(dingo.Store);
        var result = await check.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext
        {
            Registration = new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration("s", check, null, null),
        });
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, result.Status);
    }
}
