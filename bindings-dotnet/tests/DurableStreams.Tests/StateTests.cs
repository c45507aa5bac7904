using System.Text;
using System.Text.Json;
using DurableStreams.State;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>The State Protocol against both real servers: writer, materialized state, checkpoints, the durable watch, bad input.</summary>
[Collection(WriteCollection.Name)]
public class StateTests : ServerTest
{
    public StateTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    public static TheoryData<string, LiveMode> KindsAndLiveModes => new()
    {
        { TestServers.Electric, LiveMode.LongPoll },
        { TestServers.Electric, LiveMode.Sse },
        { TestServers.Node, LiveMode.LongPoll },
        { TestServers.Node, LiveMode.Sse },
    };

    private static Task<DurableStream> NewStateStreamAsync(DurableStreamClient client, string name) =>
        NewStreamAsync(client, "application/json", name);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Every_operation_written_here_materializes_with_typed_collections(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStateStreamAsync(client, "state-ops");
        var writer = new StateWriter(stream);
        var users = StateTestJson.Default.StateUser;
        var afterFirst = await writer.InsertAsync("user", "1", new StateUser("Alice", ["a", "b"]), users, Timeout());
        Assert.NotNull(afterFirst);
        await writer.InsertAsync("user", "2", new StateUser("Bob"), users, Timeout());
        await writer.WriteAsync(
            ChangeEvent.Update("user", "1", new StateUser("Alice Smith")).WithOldValue(new StateUser("Alice", ["a", "b"])).WithTxId("tx-1").WithTimestamp("2025-01-15T10:35:00Z").WithHeader("x-origin", "dotnet"),
            users,
            Timeout());
        await writer.UpsertAsync("config", "theme", "dark", StateTestJson.Default.String, Timeout());
        await writer.UpsertAsync("config", "theme", "light", StateTestJson.Default.String, Timeout());
        await writer.DeleteAsync("user", "2", Timeout());
        await writer.DeleteAsync("user", "never-existed", Timeout());
        await writer.UpdateAsync("user", "ghost", new StateUser("created by update"), users, Timeout());

        var state = new MaterializedState();
        var userCollection = state.Collection("user", users);
        var seen = new List<StateChange<StateUser>>();
        userCollection.Changed += (_, change) => seen.Add(change);
        var all = 0;
        state.Changed += (_, _) => all++;
        Assert.Equal(8, await state.CatchUpAsync(stream, Timeout()));

        Assert.Equal(["1", "ghost"], userCollection.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new StateUser("Alice Smith"), userCollection["1"] with { Tags = null });
        Assert.True(userCollection.TryGet("ghost", out var ghost));
        Assert.Equal("created by update", ghost.Name);
        Assert.Null(userCollection.Get("2"));
        Assert.True(state.TryGetCollection("config", out var config));
        Assert.Equal("light", ((StateCollection<JsonElement>)config!)["theme"].GetString());
        Assert.Equal(3, state.Count);
        Assert.Equal(8, all);
        Assert.Equal(6, seen.Count);
        var update = seen[2];
        Assert.Equal(StateOperation.Update, update.Operation);
        Assert.Equal("tx-1", update.Headers.TxId);
        Assert.Equal("dotnet", update.Headers.Extra!["x-origin"].GetString());
        Assert.Equal("Alice", update.Previous!.Name);

        // The checkpoint after the last change is the stream's tail.
        var head = await stream.HeadAsync(Timeout());
        Assert.Equal(head.Offset, state.Checkpoint.Offset);
        Assert.Equal(0, state.Checkpoint.SkipMessages);
        Assert.Equal(0, await state.CatchUpAsync(stream, Timeout()));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Snapshots_in_one_request_and_a_reset_are_applied_as_the_npm_package_does(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStateStreamAsync(client, "state-snapshot");
        var writer = new StateWriter(stream);
        await writer.InsertAsync("order", "old", new StateOrder("eu", 1), StateTestJson.Default.StateOrder, Timeout());
        var snapshot = new StateBatch()
            .Add(ControlEvent.SnapshotStart("snap-1"))
            .Add(ChangeEvent.Insert("order", "eu:1", new StateOrder("eu", 10)), StateTestJson.Default.StateOrder)
            .Add(ChangeEvent.Insert("order", "us:1", new StateOrder("us", 20)), StateTestJson.Default.StateOrder)
            .Add(ControlEvent.SnapshotEnd("snap-1"));
        Assert.Equal(4, snapshot.Count);
        await writer.WriteAsync(snapshot, Timeout());

        var state = new MaterializedState();
        var orders = state.Collection("order", StateTestJson.Default.StateOrder);
        var snapshotFlags = new List<bool>();
        state.ControlApplied += (_, e) => snapshotFlags.Add(state.InSnapshot);
        await state.CatchUpAsync(stream, Timeout());
        Assert.Equal(3, orders.Count); // snapshot markers change no entity
        Assert.Equal([true, false], snapshotFlags);

        await writer.WriteAsync(ControlEvent.SnapshotStart(), Timeout());
        await writer.WriteAsync(ControlEvent.Reset(), Timeout());
        await writer.InsertAsync("order", "eu:2", new StateOrder("eu", 30), StateTestJson.Default.StateOrder, Timeout());
        await state.CatchUpAsync(stream, Timeout());
        Assert.False(state.InSnapshot);
        Assert.Equal(["eu:2"], orders.Keys);
        Assert.Equal(30, orders["eu:2"].Total);

        // A batch that breaks a rule is refused before anything is sent.
        var refused = Assert.Throws<ArgumentException>(() => new StateBatch().Add(ChangeEvent.Insert("order", string.Empty, new StateOrder("eu", 1)), StateTestJson.Default.StateOrder));
        Assert.Equal("key", refused.ParamName);
        await Assert.ThrowsAsync<ArgumentException>(() => writer.WriteAsync(new StateBatch(), Timeout()));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Writes_through_a_producer_arrive_exactly_once_in_order(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStateStreamAsync(client, "state-producer");
        await using var producer = stream.CreateProducer("state-writer");
        var writer = new StateWriter(producer);
        for (var i = 0; i < 200; i++)
        {
            Assert.Null(await writer.UpsertAsync("counter", $"c{i % 10}", i, StateTestJson.Default.Int32, Timeout()));
        }
        await writer.WriteAsync(new StateBatch().Add(ChangeEvent.Delete("counter", "c0")).Add(ControlEvent.SnapshotEnd()), Timeout());
        var offset = await writer.FlushAsync(Timeout());
        Assert.NotNull(offset);

        var state = new MaterializedState();
        var counters = state.Collection("counter", StateTestJson.Default.Int32);
        Assert.Equal(202, await state.CatchUpAsync(stream, Timeout()));
        Assert.Equal(9, counters.Count);
        for (var k = 1; k < 10; k++)
        {
            Assert.Equal(190 + k, counters[$"c{k}"]); // the last write of each key wins: in order
        }
        Assert.Equal(offset, state.Checkpoint.Offset);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_saved_state_resumes_after_its_checkpoint_reading_only_what_followed(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStateStreamAsync(client, "state-resume");
        var writer = new StateWriter(stream);
        await writer.InsertAsync("user", "1", new StateUser("Alice"), StateTestJson.Default.StateUser, Timeout());
        await writer.WriteAsync(ControlEvent.SnapshotStart(), Timeout());
        await writer.InsertAsync("note", "n", JsonDocument.Parse("""{"text":"héllo 😀","n":1.5}""").RootElement, StateTestJson.Default.JsonElement, Timeout());

        var first = new MaterializedState();
        first.Collection("user", StateTestJson.Default.StateUser);
        await first.CatchUpAsync(stream, Timeout());
        var saved = first.Save();

        await writer.UpdateAsync("user", "1", new StateUser("Alice Smith"), StateTestJson.Default.StateUser, Timeout());
        await writer.WriteAsync(ControlEvent.SnapshotEnd(), Timeout());
        await writer.InsertAsync("user", "2", new StateUser("Bob"), StateTestJson.Default.StateUser, Timeout());

        // "After a restart": a new state from the save reads only the three new messages.
        var resumed = new MaterializedState();
        var users = resumed.Collection("user", StateTestJson.Default.StateUser);
        resumed.Restore(saved);
        Assert.True(resumed.InSnapshot);
        Assert.Equal(first.Checkpoint, resumed.Checkpoint);
        Assert.Equal("Alice", users["1"].Name);
        var replayed = new List<string>();
        resumed.Changed += (_, change) => replayed.Add($"{change.Operation}:{change.Key}");
        Assert.Equal(3, await resumed.CatchUpAsync(stream, Timeout()));
        Assert.Equal(["Update:1", "Insert:2"], replayed);
        Assert.False(resumed.InSnapshot);
        Assert.Equal("Alice Smith", users["1"].Name);
        Assert.True(resumed.TryGetCollection("note", out var notes));
        Assert.Equal("héllo 😀", ((StateCollection<JsonElement>)notes!)["n"].GetProperty("text").GetString());

        var fromScratch = new MaterializedState();
        fromScratch.Collection("user", StateTestJson.Default.StateUser);
        await fromScratch.CatchUpAsync(stream, Timeout());
        Assert.Equal(StateTestsHelpers.Entities(fromScratch), StateTestsHelpers.Entities(resumed));
        Assert.Throws<InvalidOperationException>(() => resumed.Restore(saved));
    }

    [Theory]
    [MemberData(nameof(KindsAndLiveModes))]
    public async Task A_live_state_follows_new_writes_until_the_stream_is_closed(string kind, LiveMode mode)
    {
        await using var client = NewClient(kind);
        var stream = await NewStateStreamAsync(client, "state-live");
        var writer = new StateWriter(stream);
        await writer.InsertAsync("order", "eu:1", new StateOrder("eu", 1), StateTestJson.Default.StateOrder, Timeout());

        var state = new MaterializedState();
        var orders = state.Collection("order", StateTestJson.Default.StateOrder);
        var steps = new List<StateApplied>();
        var wroteMore = false;
        await foreach (var step in state.FollowAsync(stream, mode, Timeout(30)))
        {
            steps.Add(step);
            if (step.UpToDate && !wroteMore)
            {
                wroteMore = true;
                await writer.InsertAsync("order", "eu:2", new StateOrder("eu", 2), StateTestJson.Default.StateOrder, Timeout());
                await stream.CloseAsync(cancellationToken: Timeout());
            }
        }
        Assert.True(steps[^1].StreamClosed);
        Assert.Equal(2, orders.Count);
        Assert.Equal(2, steps.Sum(s => s.Messages));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_durable_watch_resumes_after_a_restart_with_nothing_missed_and_nothing_twice(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStateStreamAsync(client, "state-watch");
        var writer = new StateWriter(stream);
        var expected = new List<string>();
        for (var round = 0; round < 4; round++)
        {
            // Batches put several messages in one response, so checkpoints fall inside responses too.
            var batch = new StateBatch();
            for (var i = 0; i < 5; i++)
            {
                var region = i % 2 == 0 ? "eu" : "us";
                var key = $"{region}:{round}-{i}";
                batch.Add(ChangeEvent.Upsert("order", key, new StateOrder(region, (round * 10) + i)), StateTestJson.Default.StateOrder);
                if (region == "eu")
                {
                    expected.Add($"Upsert {key} {(round * 10) + i}");
                }
            }
            batch.Add(ChangeEvent.Upsert("customer", "eu:c", new StateOrder("eu", round)), StateTestJson.Default.StateOrder); // another type: filtered out
            await writer.WriteAsync(batch, Timeout());
            await writer.DeleteAsync("order", $"eu:{round}-0", Timeout());
            expected.Add($"Delete eu:{round}-0");
        }
        await writer.WriteAsync(ControlEvent.Reset(), Timeout());
        expected.Add("Reset");

        // The "effect": a list, persisted together with the checkpoint, as a database transaction would.
        var effects = new List<string>();
        string? persisted = null;
        void Handle(WatchedChange<StateOrder> change)
        {
            effects.Add(change.Change is { } c ? $"{c.Operation} {c.Key}{(c.HasValue ? $" {c.Value!.Total}" : string.Empty)}" : change.Control!.Kind.ToString());
            persisted = change.Checkpoint.ToString();
        }

        // Run 1 stops ("crashes") after 4 changes, inside a response.
        var options = new StateWatchOptions { KeyPrefix = "eu:", EntityType = "order" };
        var run1 = new StateWatch<StateOrder>(stream, StateTestJson.Default.StateOrder, options);
        await foreach (var change in run1.ReadAsync(Timeout()))
        {
            Handle(change);
            if (effects.Count == 4)
            {
                break;
            }
        }
        Assert.NotNull(persisted);
        Assert.True(StateCheckpoint.Parse(persisted!).SkipMessages > 0, persisted);

        // Run 2: new objects from the persisted checkpoint, another stop after 4 more.
        var run2 = new StateWatch<StateOrder>(stream, StateTestJson.Default.StateOrder, new StateWatchOptions { KeyPrefix = "eu:", EntityType = "order", From = StateCheckpoint.Parse(persisted!) });
        var crash = await Assert.ThrowsAsync<InvalidOperationException>(() => run2.RunAsync(
            (change, _) =>
            {
                if (effects.Count == 8)
                {
                    throw new InvalidOperationException("crash before the effect");
                }
                Handle(change);
                return ValueTask.CompletedTask;
            },
            Timeout()));
        Assert.Equal("crash before the effect", crash.Message);

        // Run 3 resumes from what was persisted and goes to the end.
        var run3 = new StateWatch<StateOrder>(stream, StateTestJson.Default.StateOrder, new StateWatchOptions { KeyPrefix = "eu:", EntityType = "order", From = StateCheckpoint.Parse(persisted!) });
        await run3.RunAsync((change, _) =>
        {
            Handle(change);
            return ValueTask.CompletedTask;
        }, Timeout());
        Assert.Equal(expected, effects);

        // A live watch from the end sees only what is written next.
        var live = new StateWatch<StateOrder>(stream, StateTestJson.Default.StateOrder, new StateWatchOptions { KeyPrefix = "eu:", From = run3.Checkpoint, Live = LiveMode.LongPoll });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var reading = Task.Run(async () =>
        {
            await foreach (var change in live.ReadAsync(cts.Token))
            {
                return change;
            }
            return null;
        });
        await writer.UpsertAsync("order", "us:late", new StateOrder("us", 1), StateTestJson.Default.StateOrder, Timeout());
        // Written escaped, the key still matches the prefix.
        await stream.AppendAsync("""[{"type":"order","key":"\u0065u:late","value":{"region":"eu","total":99},"headers":{"operation":"upsert"}}]""", cancellationToken: Timeout());
        var late = await reading;
        Assert.Equal("eu:late", late!.Change!.Key);
        Assert.Equal(99, late.Change.Value!.Total);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_checkpoint_beyond_the_streams_data_is_an_invalid_offset(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStateStreamAsync(client, "state-past");
        await new StateWriter(stream).UpsertAsync("t", "k", 1, StateTestJson.Default.Int32, Timeout());
        var watch = new StateWatch<int>(stream, StateTestJson.Default.Int32, new StateWatchOptions { From = new StateCheckpoint(new StreamCheckpoint(Offset.Beginning), 5) });
        var e = await Assert.ThrowsAsync<DurableStreamException>(async () =>
        {
            await foreach (var change in watch.ReadAsync(Timeout()))
            {
                Assert.Fail($"nothing to deliver: {change}");
            }
        });
        Assert.Equal(DurableStreamErrorCode.InvalidOffset, e.Code);
        Assert.Contains("past the stream's data", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Malformed_events_stop_the_apply_naming_the_field_the_stream_and_the_offset(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStateStreamAsync(client, "state-malformed");
        var writer = new StateWriter(stream);
        await writer.InsertAsync("user", "1", new StateUser("Alice"), StateTestJson.Default.StateUser, Timeout());
        var state = new MaterializedState();
        var users = state.Collection("user", StateTestJson.Default.StateUser);
        Assert.Equal(1, await state.CatchUpAsync(stream, Timeout()));
        var afterGood = state.Checkpoint.Offset;
        // One append, so one response from afterGood: a good change, a bad one, another good one.
        await stream.AppendAsync(
            """[{"type":"user","key":"2","value":{"name":"Bob"},"headers":{"operation":"insert"}},{"type":"user","key":"3","value":{"name":"C"},"headers":{"operation":"merge"}},{"type":"user","key":"4","value":{"name":"D"},"headers":{"operation":"insert"}}]""",
            cancellationToken: Timeout());

        var e = await Assert.ThrowsAsync<MalformedStateEventException>(() => state.CatchUpAsync(stream, Timeout()));
        Assert.Equal("headers.operation", e.Field);
        Assert.Equal(stream.Url, e.StreamUrl);
        Assert.Contains(stream.Url, e.Message, StringComparison.Ordinal);
        Assert.Contains("\"merge\"", e.Message, StringComparison.Ordinal);
        Assert.Equal(afterGood, e.Checkpoint!.Value.Offset);
        Assert.Equal(1, e.Checkpoint.Value.SkipMessages);
        Assert.Contains(e.Checkpoint.Value.ToString(), e.Message, StringComparison.Ordinal);
        // Everything before it is applied, nothing after, and the state stays on it.
        Assert.Equal(["1", "2"], users.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(e.Checkpoint, state.Checkpoint);
        var again = await Assert.ThrowsAsync<MalformedStateEventException>(() => state.CatchUpAsync(stream, Timeout()));
        Assert.Equal(e.Checkpoint, again.Checkpoint);

        // Skipping it is a deliberate choice: resume after it.
        var skipping = new MaterializedState(e.NextCheckpoint!.Value);
        var rest = skipping.Collection("user", StateTestJson.Default.StateUser);
        Assert.Equal(1, await skipping.CatchUpAsync(stream, Timeout()));
        Assert.Equal(["4"], rest.Keys);

        // The watch refuses it the same way; a value that does not fit the type names `value`.
        var watch = new StateWatch<int>(stream, StateTestJson.Default.Int32);
        var watchError = await Assert.ThrowsAsync<MalformedStateEventException>(async () =>
        {
            await foreach (var change in watch.ReadAsync(Timeout()))
            {
                Assert.Fail($"{change} does not fit int");
            }
        });
        Assert.Equal("value", watchError.Field);
        Assert.Equal(StateCheckpoint.Beginning, watchError.Checkpoint);
        Assert.Equal(StateCheckpoint.Beginning, watch.Checkpoint);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_text_stream_is_refused_as_a_state_stream(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain", "state-text");
        await stream.AppendAsync("not json", cancellationToken: Timeout());
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => new MaterializedState().CatchUpAsync(stream, Timeout()));
        Assert.Contains("application/json", e.Message, StringComparison.Ordinal);
    }
}

internal static class StateTestsHelpers
{
    /// <summary>The entities of a state as JSON text <c>{type: {key: value}}</c>, keys sorted, for comparisons.</summary>
    internal static string Entities(MaterializedState state)
    {
        using var saved = JsonDocument.Parse(state.Save());
        var entities = saved.RootElement.GetProperty("entities");
        var sorted = new System.Text.Json.Nodes.JsonObject();
        foreach (var type in entities.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var keys = new System.Text.Json.Nodes.JsonObject();
            foreach (var entity in type.Value.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
            {
                keys[entity.Name] = System.Text.Json.Nodes.JsonNode.Parse(entity.Value.GetRawText());
            }
            sorted[type.Name] = keys;
        }
        return sorted.ToJsonString();
    }
}
