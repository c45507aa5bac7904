using System.Text.Json.Nodes;
using ConformanceAdapter.Tests.Infrastructure;
using DurableStreams.Tests.Infrastructure;

namespace ConformanceAdapter.Tests;

/// <summary>The idempotent-producer commands: state per (path, producerId, epoch) across commands.</summary>
[Collection(AdapterProducerCollection.Name)]
public class ProducerTests(ServerFixture fixture) : AdapterTest(fixture)
{
    private static JsonObject Producer(string type, string path, string producerId = "producer-1", long epoch = 0, bool autoClaim = false) => new()
    {
        ["type"] = type,
        ["path"] = path,
        ["producerId"] = producerId,
        ["epoch"] = epoch,
        ["autoClaim"] = autoClaim,
    };

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Appends_continue_the_sequence_across_commands(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("producer");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");

        var first = Producer("idempotent-append", path);
        first["data"] = "message-1";
        var one = Ok(await adapter.SendAsync(first), "idempotent-append");
        Assert.Equal(200, Status(one));
        Assert.Equal(0, one.GetProperty("producerSeq").GetInt64());
        Assert.False(HasField(one, "duplicate")); // the package does not report duplicates

        var second = Producer("idempotent-append", path);
        second["data"] = "message-2";
        var two = Ok(await adapter.SendAsync(second), "idempotent-append");
        Assert.Equal(1, two.GetProperty("producerSeq").GetInt64());
        Assert.True(string.CompareOrdinal(Str(two, "offset"), Str(one, "offset")) > 0);

        // A batch command uses a producer of its own (sequence 0 of its epoch), as the suite's adapters do.
        var batch = Producer("idempotent-append-batch", path, "batch-producer");
        batch["items"] = new JsonArray("a", "b", "c");
        var batched = Ok(await adapter.SendAsync(batch), "idempotent-append-batch");
        Assert.Equal(200, Status(batched));
        Assert.Equal(0, batched.GetProperty("producerSeq").GetInt64());

        var head = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = path }), "head");
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal("message-1message-2abc", Str(Chunks(read).Single(), "data"));
        Assert.Equal(Str(head, "offset"), Str(read, "offset"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task A_repeated_batch_command_is_stored_once(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("producer-batch-repeat");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        var batch = Producer("idempotent-append-batch", path, "repeat");
        batch["items"] = new JsonArray("a", "b", "c");
        var first = Ok(await adapter.SendAsync(batch.DeepClone().AsObject()), "idempotent-append-batch");
        // The same command again (a retried request): a fresh producer sends the same (id, epoch,
        // sequence 0), which the server recognises as a duplicate.
        var again = Ok(await adapter.SendAsync(batch.DeepClone().AsObject()), "idempotent-append-batch");
        Assert.Equal(200, Status(again));
        Assert.Equal(first.GetProperty("producerSeq").GetInt64(), again.GetProperty("producerSeq").GetInt64());
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal("abc", Str(Chunks(read).Single(), "data"));

        // A newer epoch is a new producer session: stored.
        var next = Producer("idempotent-append-batch", path, "repeat", epoch: 1);
        next["items"] = new JsonArray("d");
        Ok(await adapter.SendAsync(next), "idempotent-append-batch");
        read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal("abcd", Str(Chunks(read).Single(), "data"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Json_batches_keep_one_message_per_item(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("producer-json");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "application/json" }), "create");
        var batch = Producer("idempotent-append-batch", path, "json-producer");
        batch["items"] = new JsonArray("{\"id\": 0}", "{\"id\": 1}", "[1, 2]", "\"text\"");
        Ok(await adapter.SendAsync(batch), "idempotent-append-batch");
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal("[{\"id\":0},{\"id\":1},[1,2],\"text\"]", Str(Chunks(read).Single(), "data"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Concurrent_batches_are_all_delivered_in_order(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("producer-concurrent");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        var batch = Producer("idempotent-append-batch", path, "concurrent", autoClaim: true);
        var items = Enumerable.Range(0, 20).Select(i => $"msg-{i:00};").ToArray();
        batch["items"] = new JsonArray([.. items.Select(i => (JsonNode)i)]);
        batch["maxInFlight"] = 5;
        var reply = Ok(await adapter.SendAsync(batch), "idempotent-append-batch");
        Assert.Equal(19, reply.GetProperty("producerSeq").GetInt64()); // one message per batch
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal(string.Concat(items), Str(Chunks(read).Single(), "data"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Close_twice_succeeds_and_appends_after_it_are_STREAM_CLOSED(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("producer-close");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        var append = Producer("idempotent-append", path);
        append["data"] = "message-1";
        Ok(await adapter.SendAsync(append), "idempotent-append");

        var close = Producer("idempotent-close", path);
        close["data"] = "body-A";
        var closed = Ok(await adapter.SendAsync(close), "idempotent-close");
        Assert.Equal(200, Status(closed));
        var head = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = path }), "head");
        Assert.True(Bool(head, "streamClosed"));
        Assert.Equal(Str(head, "offset"), Str(closed, "finalOffset"));

        // Again, even with another final body: success, nothing more written.
        var again = Producer("idempotent-close", path);
        again["data"] = "body-B";
        var closedAgain = Ok(await adapter.SendAsync(again), "idempotent-close");
        Assert.Equal(Str(closed, "finalOffset"), Str(closedAgain, "finalOffset"));

        var late = Producer("idempotent-append", path);
        late["data"] = "late";
        Error(await adapter.SendAsync(late), "idempotent-append", "STREAM_CLOSED");
        Error(await adapter.SendAsync(Producer("idempotent-close", path, "producer-2")), "idempotent-close", "STREAM_CLOSED", 409);
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "plain" }), "append", "STREAM_CLOSED", 409);

        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal("message-1body-A", Str(Chunks(read).Single(), "data"));
        Assert.True(Bool(read, "streamClosed"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Detach_stops_the_producer_and_leaves_the_stream_open(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("producer-detach");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        var append = Producer("idempotent-append", path);
        append["data"] = "message-1";
        Ok(await adapter.SendAsync(append), "idempotent-append");
        var detached = Ok(await adapter.SendAsync(Producer("idempotent-detach", path)), "idempotent-detach");
        Assert.Equal(200, Status(detached));
        Assert.False(Bool(Ok(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = path }), "head"), "streamClosed"));
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "message-2" }), "append");
        // A newer epoch carries on.
        var next = Producer("idempotent-append", path, epoch: 1);
        next["data"] = "message-3";
        Assert.Equal(0, Ok(await adapter.SendAsync(next), "idempotent-append").GetProperty("producerSeq").GetInt64());
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal("message-1message-2message-3", Str(Chunks(read).Single(), "data"));
        Assert.False(Bool(read, "streamClosed"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task A_stale_epoch_fails_unless_auto_claim_is_on(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("producer-epoch");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        var newer = Producer("idempotent-append", path, "shared", epoch: 3);
        newer["data"] = "e3";
        Ok(await adapter.SendAsync(newer), "idempotent-append");

        var zombie = Producer("idempotent-append", path, "shared", epoch: 1);
        zombie["data"] = "zombie";
        Error(await adapter.SendAsync(zombie), "idempotent-append", "UNEXPECTED_STATUS", 403);

        var claim = Producer("idempotent-append", path, "shared", epoch: 2, autoClaim: true);
        claim["data"] = "claimed";
        Ok(await adapter.SendAsync(claim), "idempotent-append");
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal("e3claimed", Str(Chunks(read).Single(), "data"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Producer_errors_map_to_protocol_codes(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var missingPath = NewPath("producer-missing");
        var missing = Producer("idempotent-append", missingPath);
        missing["data"] = "x";
        var reply = Error(await adapter.SendAsync(missing.DeepClone().AsObject()), "idempotent-append", "NOT_FOUND", 404);
        Assert.Contains(missingPath, Str(reply, "message"), StringComparison.Ordinal);
        // Nothing was written: once the stream exists, the same producer starts afresh.
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = missingPath, ["contentType"] = "text/plain" }), "create");
        Assert.Equal(0, Ok(await adapter.SendAsync(missing), "idempotent-append").GetProperty("producerSeq").GetInt64());
        var closeMissing = Producer("idempotent-close", NewPath("producer-missing-close"));
        Error(await adapter.SendAsync(closeMissing), "idempotent-close", "NOT_FOUND", 404);

        var negative = Producer("idempotent-append", NewPath("producer-negative"), epoch: -1);
        negative["data"] = "x";
        var invalid = Error(await adapter.SendAsync(negative), "idempotent-append", "INVALID_ARGUMENT");
        Assert.Contains("epoch", Str(invalid, "message"), StringComparison.Ordinal);
        await adapter.ShutdownAsync();
    }
}
