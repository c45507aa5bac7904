using System.Text;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

[Collection(WriteCollection.Name)]
public class StreamOperationTests : ServerTest
{
    public StreamOperationTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Create_is_idempotent_and_reports_its_outcome(string kind)
    {
        await using var client = NewClient(kind);
        var stream = client.GetStream(NewPath("create"));
        Assert.Null(stream.ContentType);

        var created = await stream.CreateWithDetailsAsync(new CreateStreamOptions { ContentType = "text/plain" });
        Assert.Equal(CreateStreamResult.Created, created.Result);
        Assert.True(created.Created);
        Assert.NotNull(created.NextOffset);
        Assert.StartsWith("text/plain", created.ContentType);
        Assert.False(created.StreamClosed);
        Assert.StartsWith("text/plain", stream.ContentType);

        var again = await stream.CreateAsync(new CreateStreamOptions { ContentType = "text/plain" });
        Assert.Equal(CreateStreamResult.AlreadyExisted, again);

        var conflict = await Assert.ThrowsAsync<StreamConflictException>(() => stream.CreateAsync(new CreateStreamOptions { ContentType = "application/json" }));
        Assert.Equal(409, conflict.StatusCode);
        Assert.Equal(DurableStreamErrorCode.ConflictExists, conflict.Code);
        Assert.Contains(stream.Url, conflict.Message, StringComparison.Ordinal);
        Assert.Equal(stream.Url, conflict.Url);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Head_reports_the_servers_cache_headers(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await client.CreateStreamAsync(NewPath("head-cache"), new CreateStreamOptions { ContentType = "text/plain" });
        await stream.AppendAsync("x");
        var meta = await stream.HeadAsync();
        Assert.True(meta.Exists);
        // Both servers forbid caching HEAD; the Node server also tags the state with an ETag.
        Assert.Equal("no-store", meta.CacheControl);
        if (kind == "node")
        {
            Assert.False(string.IsNullOrEmpty(meta.ETag));
        }
        Assert.Equal(meta, meta with { }); // value equality of the record struct
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Create_with_initial_data_ttl_and_closed(string kind)
    {
        await using var client = NewClient(kind);
        var withTtl = await client.CreateStreamAsync(NewPath("ttl"), new CreateStreamOptions
        {
            ContentType = "text/plain",
            Ttl = TimeSpan.FromHours(1),
            InitialData = Encoding.UTF8.GetBytes("hello"),
        });
        var meta = await withTtl.HeadAsync();
        Assert.Equal(TimeSpan.FromHours(1), meta.Ttl);
        Assert.Null(meta.ExpiresAt);
        Assert.False(meta.StreamClosed);
        await using (var r = await withTtl.StreamAsync())
        {
            Assert.Equal("hello", await r.ReadAllTextAsync());
        }

        var expiresAt = DateTimeOffset.UtcNow.AddHours(2);
        var withExpiry = await client.CreateStreamAsync(new Uri(NewPath("expires"), UriKind.Relative), new CreateStreamOptions
        {
            ContentType = "application/octet-stream",
            ExpiresAt = expiresAt,
        });
        var meta2 = await withExpiry.HeadAsync();
        Assert.Null(meta2.Ttl);
        Assert.NotNull(meta2.ExpiresAt);
        Assert.NotNull(meta2.ExpiresAtRaw);
        Assert.InRange((meta2.ExpiresAt!.Value - expiresAt).Duration(), TimeSpan.Zero, TimeSpan.FromSeconds(2));

        var closed = client.GetStream(NewPath("closed"));
        var result = await closed.CreateWithDetailsAsync(new CreateStreamOptions { ContentType = "text/plain", Closed = true, InitialData = Encoding.UTF8.GetBytes("final") });
        Assert.True(result.StreamClosed);
        Assert.True((await closed.HeadAsync()).StreamClosed);
        await Assert.ThrowsAsync<StreamClosedException>(() => closed.AppendAsync("more"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Append_returns_increasing_offsets_and_head_reports_the_tail(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/octet-stream");
        var a = await stream.AppendAsync(new byte[] { 1, 2, 3 });
        var b = await stream.AppendAsync("text as bytes");
        Assert.False(a.StreamClosed);
        Assert.True(string.CompareOrdinal(a.Offset.Value, b.Offset.Value) < 0);
        var head = await stream.HeadAsync();
        Assert.Equal(b.Offset, head.Offset);
        Assert.StartsWith("application/octet-stream", head.ContentType);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_handle_told_its_content_type_appends_and_reads_in_json_mode(string kind)
    {
        await using var client = NewClient(kind);
        var path = NewPath("told-json");
        // Created by another client: this one has not learned the content type.
        await using (var creator = NewClient(kind))
        {
            await creator.CreateStreamAsync(path, new CreateStreamOptions { ContentType = "application/json" });
        }

        var stream = client.GetStream(path);
        Assert.Null(stream.ContentType);
        stream.SetContentType("application/json");
        Assert.Equal("application/json", stream.ContentType);
        await stream.AppendAsync("[{\"N\":1},{\"N\":2}]"); // one message per element: JSON mode

        var reader = client.GetStream(path);
        reader.SetContentType("application/json");
        await using var response = await reader.StreamAsync(new StreamOptions { Live = LiveMode.Sse });
        await foreach (var batch in response.ReadJsonBatchesAsync<MyEvent>(Timeout()))
        {
            if (batch.Items.Count > 0)
            {
                Assert.Equal([1, 2], batch.Items.Select(e => e!.N));
                break;
            }
        }

        Assert.Throws<ArgumentException>("contentType", () => stream.SetContentType(" "));
        Assert.Throws<ArgumentNullException>("contentType", () => stream.SetContentType(null!));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_fresh_handle_appends_correctly_to_json_and_text_streams(string kind)
    {
        await using var client = NewClient(kind);
        var jsonPath = NewPath("fresh-json");
        var textPath = NewPath("fresh-text");
        // Created by another client: this one has not learned the content types.
        await using (var creator = NewClient(kind))
        {
            await creator.CreateStreamAsync(jsonPath, new CreateStreamOptions { ContentType = "application/json" });
            await creator.CreateStreamAsync(textPath, new CreateStreamOptions { ContentType = "text/plain" });
        }

        // New handles: the content type is unknown until the native side HEADs once.
        var json = client.GetStream(jsonPath);
        Assert.Null(json.ContentType);
        await json.AppendJsonAsync(new MyEvent("a", 1));
        await json.AppendJsonAsync(new[] { 1, 2, 3 }); // an array stays ONE message
        await json.AppendAsync("{\"Type\":\"raw\",\"N\":3}");

        var text = client.GetStream(textPath);
        await text.AppendAsync("héllo ");
        Assert.StartsWith("text/plain", text.ContentType);
        await text.AppendAsync(Encoding.UTF8.GetBytes("wörld"));

        await using var jr = await client.GetStream(jsonPath).StreamAsync();
        var raw = await jr.ReadAllJsonAsync<System.Text.Json.JsonElement>();
        Assert.Equal(3, raw.Count);
        Assert.Equal("a", raw[0].GetProperty("Type").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Array, raw[1].ValueKind);
        Assert.Equal(3, raw[1].GetArrayLength());
        Assert.Equal("raw", raw[2].GetProperty("Type").GetString());

        await using var tr = await client.GetStream(textPath).StreamAsync();
        Assert.Equal("héllo wörld", await tr.ReadAllTextAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Stream_seq_must_increase(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await stream.AppendAsync("a", new AppendOptions { Seq = "0002" });
        await stream.AppendAsync("b", new AppendOptions { Seq = "0003" });
        var e = await Assert.ThrowsAsync<StreamConflictException>(() => stream.AppendAsync("c", new AppendOptions { Seq = "0001" }));
        Assert.Equal(DurableStreamErrorCode.ConflictSeq, e.Code);
        Assert.Equal(409, e.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Close_and_append_after_close(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await stream.AppendAsync("one");
        var closed = await stream.CloseAsync();
        Assert.Equal((await stream.HeadAsync()).Offset, closed.FinalOffset);
        Assert.Equal(closed, await stream.CloseAsync()); // idempotent

        var e = await Assert.ThrowsAsync<StreamClosedException>(() => stream.AppendAsync("two"));
        Assert.Equal(409, e.StatusCode);
        Assert.Equal(DurableStreamErrorCode.StreamClosed, e.Code);
        Assert.Contains(stream.Url, e.Message, StringComparison.Ordinal);

        var other = await NewStreamAsync(client, "text/plain");
        await other.AppendAsync("first ");
        var final = await other.CloseAsync(new CloseOptions { Data = Encoding.UTF8.GetBytes("last") });
        Assert.True(final.FinalOffset.HasValue);
        Assert.Equal((await other.HeadAsync()).Offset, final.FinalOffset);
        var viaOptions = await NewStreamAsync(client, "text/plain");
        Assert.True((await viaOptions.AppendAsync("x", new AppendOptions { Close = true })).StreamClosed);
        await using var r = await other.StreamAsync();
        Assert.Equal("first last", await r.ReadAllTextAsync());
        Assert.True(r.StreamClosed);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Delete_and_not_found_errors_name_the_stream(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await stream.DeleteAsync();

        var head = await Assert.ThrowsAsync<StreamNotFoundException>(() => stream.HeadAsync());
        Assert.Equal(404, head.StatusCode);
        Assert.Equal(DurableStreamErrorCode.NotFound, head.Code);
        Assert.Equal(stream.Url, head.Url);
        Assert.Contains(stream.Url, head.Message, StringComparison.Ordinal);
        Assert.Equal("NOT_FOUND", head.CodeName);

        await Assert.ThrowsAsync<StreamNotFoundException>(() => stream.AppendAsync("x"));
        await Assert.ThrowsAsync<StreamNotFoundException>(() => stream.StreamAsync());
        await Assert.ThrowsAsync<StreamNotFoundException>(() => stream.DeleteAsync());
        await Assert.ThrowsAsync<StreamNotFoundException>(() => client.ConnectAsync(stream.Url));
        await Assert.ThrowsAsync<StreamNotFoundException>(() => client.DeleteStreamAsync(new Uri(stream.Url)));

        var path = NewPath("delete-by-client");
        await client.CreateStreamAsync(path, new CreateStreamOptions { ContentType = "text/plain" });
        var connected = await client.ConnectAsync(path);
        Assert.StartsWith("text/plain", connected.ContentType);
        var connectedByUri = await client.ConnectAsync(new Uri(connected.Url));
        Assert.Equal(connected.Url, connectedByUri.Url);
        await client.DeleteStreamAsync(path);
        await Assert.ThrowsAsync<StreamNotFoundException>(() => client.ConnectAsync(new Uri(connected.Url)));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Fork_inherits_data_up_to_the_offset_then_lives_independently(string kind)
    {
        await using var client = NewClient(kind);
        var source = await NewStreamAsync(client, "text/plain", "fork-source");
        var first = await source.AppendAsync("one ");
        await source.AppendAsync("two ");

        var fork = await source.ForkAsync(NewPath("fork"), first.Offset);
        Assert.StartsWith("text/plain", (await fork.HeadAsync()).ContentType);
        await fork.AppendAsync("fork!");
        await source.AppendAsync("three");

        await using (var r = await fork.StreamAsync())
        {
            Assert.Equal("one fork!", await r.ReadAllTextAsync());
        }
        await using (var r = await source.StreamAsync())
        {
            Assert.Equal("one two three", await r.ReadAllTextAsync());
        }

        // At the tail (no offset), via Uri.
        var tailFork = await source.ForkAsync(new Uri(client.GetStream(NewPath("fork-tail")).Url));
        await using (var r = await tailFork.StreamAsync())
        {
            Assert.Equal("one two three", await r.ReadAllTextAsync());
        }

        // Via CreateStreamOptions.ForkFrom with a sub-offset (bytes past the anchor).
        var sub = client.GetStream(NewPath("fork-sub"));
        await sub.CreateAsync(new CreateStreamOptions { ForkFrom = source.Url, ForkOffset = first.Offset, ForkSubOffset = 2 });
        await using (var r = await sub.StreamAsync())
        {
            Assert.Equal("one tw", await r.ReadAllTextAsync());
        }

        var missing = await Assert.ThrowsAsync<StreamNotFoundException>(() => client.GetStream(NewPath("nope")).ForkAsync(NewPath("fork-of-missing")));
        Assert.Equal(404, missing.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Deleting_a_forked_source_makes_it_gone(string kind)
    {
        await using var client = NewClient(kind);
        var source = await NewStreamAsync(client, "text/plain", "gone-source");
        await source.AppendAsync("data");
        var fork = await source.ForkAsync(NewPath("gone-fork"));
        await source.DeleteAsync();
        var gone = await Assert.ThrowsAsync<StreamGoneException>(() => source.HeadAsync());
        Assert.Equal(410, gone.StatusCode);
        Assert.Equal(DurableStreamErrorCode.OffsetGone, gone.Code);
        await using var r = await fork.StreamAsync();
        Assert.Equal("data", await r.ReadAllTextAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Server_rejected_offsets_map_to_invalid_offset(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await stream.AppendAsync("x");
        var e = await Assert.ThrowsAnyAsync<DurableStreamException>(() => stream.StreamAsync(new StreamOptions { Offset = new Offset("not-a-real-offset") }));
        Assert.Equal(DurableStreamErrorCode.InvalidOffset, e.Code);
        Assert.Equal(400, e.StatusCode);
        Assert.Contains(stream.Url, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Content_type_mismatch_is_a_conflict(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        var e = await Assert.ThrowsAsync<StreamConflictException>(() => stream.AppendJsonAsync(new MyEvent("x", 1)));
        Assert.Equal(409, e.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Many_tasks_append_through_one_client(string kind)
    {
        await using var client = NewClient(kind);
        var path = NewPath("concurrent");
        await client.CreateStreamAsync(path, new CreateStreamOptions { ContentType = "application/json" });
        const int tasks = 16;
        const int perTask = 10;
        await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            var stream = client.GetStream(path); // handles from many threads
            for (var i = 0; i < perTask; i++)
            {
                await stream.AppendJsonAsync(new MyEvent($"t{t}", i));
            }
        })));
        await using var r = await client.GetStream(path).StreamAsync();
        var all = await r.ReadAllJsonAsync<MyEvent>();
        Assert.Equal(tasks * perTask, all.Count);
        foreach (var group in all.GroupBy(e => e!.Type))
        {
            Assert.Equal(Enumerable.Range(0, perTask), group.Select(e => e!.N)); // per-task order kept
        }
    }
}
