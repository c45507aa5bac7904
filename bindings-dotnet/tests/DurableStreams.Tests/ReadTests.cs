using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

[JsonSerializable(typeof(MyEvent))]
internal sealed partial class TestJsonContext : JsonSerializerContext
{
}

[Collection(ReadCollection.Name)]
public class ReadTests : ServerTest
{
    public ReadTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    private static byte[] AllByteValues() => Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Catch_up_json_read_all(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        for (var i = 0; i < 5; i++)
        {
            await stream.AppendJsonAsync(new MyEvent("e", i));
        }

        await using var response = await stream.StreamAsync(new StreamOptions { Offset = Offset.Beginning, Live = LiveMode.Off });
        Assert.Equal(Offset.Beginning, response.StartOffset);
        Assert.Equal(Offset.Beginning, response.Offset);
        Assert.StartsWith("application/json", response.ContentType);
        Assert.Equal(stream.Url, response.Url);
        Assert.Equal(LiveMode.Off, response.Live);
        var messages = await response.ReadAllJsonAsync<MyEvent>();
        Assert.Equal(Enumerable.Range(0, 5), messages.Select(m => m!.N));
        Assert.True(response.UpToDate);
        Assert.False(response.StreamClosed);
        Assert.Equal((await stream.HeadAsync()).Offset, response.Offset);
        Assert.Equal(response.Offset, response.Checkpoint.Offset);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Chunks_report_the_status_of_their_response(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await stream.AppendAsync("old", cancellationToken: Timeout());
        await using (var catchUp = await stream.StreamAsync(cancellationToken: Timeout()))
        {
            await foreach (var chunk in catchUp.ReadBytesAsync(Timeout()))
            {
                Assert.Equal(200, chunk.StatusCode);
            }
        }
        // From Now, long-poll waits; the server's timeout (204) is the first up-to-date signal.
        await using var tail = await stream.StreamAsync(new StreamOptions { Offset = Offset.Now, Live = LiveMode.LongPoll }, Timeout());
        await foreach (var chunk in tail.ReadBytesAsync(Timeout()))
        {
            Assert.True(chunk.UpToDate && chunk.Data.IsEmpty);
            Assert.Equal(204, chunk.StatusCode);
            break;
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Bounded_chunks_split_large_responses_into_partial_pieces(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/octet-stream");
        var payload = new byte[300 * 1024];
        new Random(7).NextBytes(payload);
        for (var at = 0; at < payload.Length; at += 100 * 1024)
        {
            await stream.AppendAsync(payload.AsMemory(at, 100 * 1024), cancellationToken: Timeout());
        }
        const int max = 64 * 1024;
        await using var response = await stream.StreamAsync(new StreamOptions { MaxChunkBytes = max }, Timeout());
        var received = new List<byte>();
        var chunks = new List<ByteChunk>();
        await foreach (var chunk in response.ReadBytesAsync(Timeout()))
        {
            Assert.True(chunk.Data.Length <= max, $"{chunk.Data.Length} bytes");
            received.AddRange(chunk.Data.ToArray());
            chunks.Add(chunk);
        }
        Assert.Equal(payload, received.ToArray());
        Assert.Contains(chunks, c => c.IsPartial);
        Assert.All(chunks.Where(c => c.IsPartial), c => Assert.False(c.UpToDate || c.StreamClosed));
        Assert.False(chunks[^1].IsPartial);
        Assert.True(chunks[^1].UpToDate);
        // A partial piece's checkpoint is where its response began: resuming re-reads from there.
        var first = chunks.First(c => c.IsPartial);
        await using var again = await stream.StreamAsync(new StreamOptions { Checkpoint = first.Checkpoint }, Timeout());
        var reread = await again.ReadAllBytesAsync(Timeout());
        Assert.True(reread.Length >= first.Data.Length);
        Assert.Equal(payload.AsSpan(payload.Length - reread.Length).ToArray(), reread);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Bounded_chunks_keep_text_split_inside_a_character_intact(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        var text = string.Concat(Enumerable.Repeat("héllo wörld ✓ ", 4000));
        await stream.AppendAsync(text, cancellationToken: Timeout());
        // An odd bound cuts inside multi-byte characters; the decoder carries them across pieces.
        await using var response = await stream.StreamAsync(new StreamOptions { MaxChunkBytes = 1001 }, Timeout());
        Assert.Equal(text, await response.ReadAllTextAsync(Timeout()));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => stream.StreamAsync(new StreamOptions { MaxChunkBytes = 0 }, Timeout()));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Byte_chunks_of_json_streams_carry_each_message_raw(string kind)
    {
        await using var client = NewClient(kind);
        var json = await NewStreamAsync(client, "application/json");
        await json.AppendAsync("[{\"n\":0},\"two\"]");
        await json.AppendAsync("[3,{\"n\":[4]}]");

        var messages = new List<string>();
        await using (var response = await json.StreamAsync())
        {
            await foreach (var chunk in response.ReadBytesAsync())
            {
                Assert.NotNull(chunk.Messages);
                foreach (var message in chunk.Messages!)
                {
                    // Each message is a slice of the chunk's JSON array text.
                    Assert.True(chunk.Data.Span.IndexOf(message.Span) >= 0);
                    messages.Add(System.Text.Encoding.UTF8.GetString(message.Span).Replace(" ", string.Empty, StringComparison.Ordinal));
                }
                if (chunk.UpToDate)
                {
                    break;
                }
            }
        }
        Assert.Equal(["{\"n\":0}", "\"two\"", "3", "{\"n\":[4]}"], messages);

        var bytes = await NewStreamAsync(client, "application/octet-stream");
        await bytes.AppendAsync(new byte[] { 1, 2, 3 });
        await using var raw = await bytes.StreamAsync();
        await foreach (var chunk in raw.ReadBytesAsync())
        {
            Assert.Null(chunk.Messages);
            break;
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Json_reads_with_source_generated_metadata(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        await stream.AppendJsonAsync(new MyEvent("a", 1), TestJsonContext.Default.MyEvent);
        await stream.AppendJsonAsync(new MyEvent("b", 2), TestJsonContext.Default.MyEvent);

        await using (var r = await stream.StreamAsync())
        {
            Assert.Equal(["a", "b"], (await r.ReadAllJsonAsync(TestJsonContext.Default.MyEvent)).Select(e => e!.Type));
        }
        await using (var r = await stream.StreamAsync())
        {
            var items = new List<MyEvent>();
            await foreach (var e in r.ReadJsonAsync(TestJsonContext.Default.MyEvent))
            {
                items.Add(e!);
            }
            Assert.Equal(2, items.Count);
        }
        await using (var r = await stream.StreamAsync())
        {
            var batches = new List<JsonBatch<MyEvent>>();
            await foreach (var b in r.ReadJsonBatchesAsync(TestJsonContext.Default.MyEvent))
            {
                batches.Add(b);
            }
            Assert.Equal(2, batches.SelectMany(b => b.Items).Count());
            Assert.True(batches[^1].UpToDate);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Json_messages_use_the_client_serializer_options(string kind)
    {
        await using var client = NewClient(kind, o => o.JsonSerializerOptions = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase });
        var stream = await NewStreamAsync(client, "application/json");
        await stream.AppendJsonAsync(new MyEvent("camel", 7));
        await using (var raw = await stream.StreamAsync())
        {
            Assert.Contains("\"type\":\"camel\"", await raw.ReadAllTextAsync(), StringComparison.Ordinal);
        }
        await using var typed = await stream.StreamAsync();
        Assert.Equal(new MyEvent("camel", 7), (await typed.ReadAllJsonAsync<MyEvent>()).Single());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Catch_up_text_and_binary_are_byte_exact(string kind)
    {
        await using var client = NewClient(kind);
        var text = await NewStreamAsync(client, "text/plain");
        await text.AppendAsync("héllo, ");
        await text.AppendAsync("wörld ✓ 🎉");
        await using (var r = await text.StreamAsync())
        {
            Assert.Equal("héllo, wörld ✓ 🎉", await r.ReadAllTextAsync());
        }

        var binary = await NewStreamAsync(client, "application/octet-stream");
        await binary.AppendAsync(AllByteValues());
        await binary.AppendAsync(AllByteValues().Reverse().ToArray());
        await using (var r = await binary.StreamAsync())
        {
            Assert.Equal(AllByteValues().Concat(AllByteValues().Reverse()).ToArray(), await r.ReadAllBytesAsync());
        }
        await using (var r = await binary.StreamAsync())
        {
            var collected = new List<byte>();
            ByteChunk? last = null;
            await foreach (var chunk in r.ReadBytesAsync())
            {
                collected.AddRange(chunk.Data.ToArray());
                last = chunk;
            }
            Assert.Equal(512, collected.Count);
            Assert.NotNull(last);
            Assert.True(last.Value.UpToDate);
            Assert.False(last.Value.StreamClosed);
            Assert.Equal(last.Value.Offset, last.Value.Checkpoint.Offset);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Sse_delivers_all_256_byte_values_exactly(string kind)
    {
        await using var client = NewClient(kind);
        var binary = await NewStreamAsync(client, "application/octet-stream");
        await binary.AppendAsync(AllByteValues());
        await binary.AppendAsync(new byte[] { 0, 0xFF, 0x0A, 0x0D });

        await using var r = await binary.StreamAsync(new StreamOptions { Live = LiveMode.Sse });
        var collected = new List<byte>();
        await foreach (var chunk in r.ReadBytesAsync(Timeout()))
        {
            collected.AddRange(chunk.Data.ToArray());
            if (chunk.UpToDate)
            {
                break;
            }
        }
        Assert.Equal(AllByteValues().Concat(new byte[] { 0, 0xFF, 0x0A, 0x0D }).ToArray(), collected.ToArray());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Sse_json_and_text(string kind)
    {
        await using var client = NewClient(kind);
        var json = await NewStreamAsync(client, "application/json");
        await json.AppendJsonAsync(new MyEvent("x", 1));
        await json.AppendJsonAsync(new MyEvent("y", 2));
        await using (var r = await json.StreamAsync(new StreamOptions { Live = LiveMode.Sse }))
        {
            // ReadAll* on a live read accumulates until up to date.
            Assert.Equal(["x", "y"], (await r.ReadAllJsonAsync<MyEvent>(Timeout())).Select(e => e!.Type));
        }

        var text = await NewStreamAsync(client, "text/plain");
        await text.AppendAsync("line 1\nline 2\n");
        await text.AppendAsync("ünïcödé");
        await using (var r = await text.StreamAsync(new StreamOptions { Live = LiveMode.Sse }))
        {
            Assert.Equal("line 1\nline 2\nünïcödé", await r.ReadAllTextAsync(Timeout()));
        }
        await using (var r = await text.StreamAsync(new StreamOptions { Live = LiveMode.LongPoll }))
        {
            Assert.Equal("line 1\nline 2\nünïcödé", await r.ReadAllTextAsync(Timeout()));
        }
        await using (var r = await text.StreamAsync(new StreamOptions { Live = LiveMode.Auto }))
        {
            Assert.Equal(
                Encoding.UTF8.GetBytes("line 1\nline 2\nünïcödé"),
                await r.ReadAllBytesAsync(Timeout()));
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Checkpoints_resume_exactly_where_reading_stopped(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        await stream.AppendJsonAsync(new MyEvent("a", 1));
        await stream.AppendJsonAsync(new MyEvent("b", 2));

        string saved;
        await using (var r = await stream.StreamAsync())
        {
            var batches = new List<JsonBatch<MyEvent>>();
            await foreach (var batch in r.ReadJsonBatchesAsync<MyEvent>())
            {
                batches.Add(batch);
            }
            Assert.Equal(["a", "b"], batches.SelectMany(b => b.Items).Select(e => e!.Type));
            saved = batches[^1].Checkpoint.ToString();
            Assert.Equal(batches[^1].Offset, r.Offset);
            Assert.Equal(r.Checkpoint, batches[^1].Checkpoint);
        }

        await stream.AppendJsonAsync(new MyEvent("c", 3));
        await using (var r = await stream.StreamAsync(new StreamOptions { Checkpoint = StreamCheckpoint.Parse(saved) }))
        {
            Assert.Equal(StreamCheckpoint.Parse(saved).Offset, r.StartOffset);
            Assert.Equal(["c"], (await r.ReadAllJsonAsync<MyEvent>()).Select(e => e!.Type));
        }
        await using (var r = await stream.StreamAsync(new StreamOptions { Offset = StreamCheckpoint.Parse(saved).Offset }))
        {
            var items = new List<MyEvent>();
            await foreach (var e in r.ReadJsonAsync<MyEvent>())
            {
                items.Add(e!);
            }
            Assert.Equal(["c"], items.Select(e => e.Type));
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Invalid_utf8_is_a_parse_error_not_replacement(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/octet-stream");
        await stream.AppendAsync(new byte[] { (byte)'o', (byte)'k', 0xFF, 0xFE });

        await using (var r = await stream.StreamAsync())
        {
            var e = await Assert.ThrowsAsync<DurableStreamException>(() => r.ReadAllTextAsync());
            Assert.Equal(DurableStreamErrorCode.ParseError, e.Code);
            Assert.Contains(stream.Url, e.Message, StringComparison.Ordinal);
        }
        await using (var r = await stream.StreamAsync())
        {
            var e = await Assert.ThrowsAsync<DurableStreamException>(async () =>
            {
                await foreach (var _ in r.ReadTextAsync())
                {
                }
            });
            Assert.Equal(DurableStreamErrorCode.ParseError, e.Code);
        }

        // Truncated multi-byte character at the end of a closed stream.
        var truncated = await NewStreamAsync(client, "text/plain");
        await truncated.AppendAsync(new byte[] { (byte)'a', 0xC3 });
        await truncated.CloseAsync();
        await using (var r = await truncated.StreamAsync())
        {
            var e = await Assert.ThrowsAsync<DurableStreamException>(async () =>
            {
                await foreach (var _ in r.ReadTextAsync())
                {
                }
            });
            Assert.Equal(DurableStreamErrorCode.ParseError, e.Code);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Json_errors_are_reported_clearly(string kind)
    {
        await using var client = NewClient(kind);
        var text = await NewStreamAsync(client, "text/plain");
        await text.AppendAsync("not json");
        await using (var r = await text.StreamAsync())
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => r.ReadAllJsonAsync<MyEvent>());
            Assert.Contains("application/json", e.Message, StringComparison.Ordinal);
        }

        var json = await NewStreamAsync(client, "application/json");
        await json.AppendAsync("{\"Type\":\"x\",\"N\":\"not a number\"}");
        await using (var r = await json.StreamAsync())
        {
            var e = await Assert.ThrowsAsync<DurableStreamException>(() => r.ReadAllJsonAsync<MyEvent>());
            Assert.Equal(DurableStreamErrorCode.ParseError, e.Code);
            Assert.IsType<JsonException>(e.InnerException);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_response_has_a_single_consumer(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await stream.AppendAsync("x");

        await using var r = await stream.StreamAsync();
        Assert.Equal("x", await r.ReadAllTextAsync());
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => r.ReadAllBytesAsync());
        Assert.Contains("single-consumer", e.Message, StringComparison.Ordinal);
        Assert.Contains("ReadAllTextAsync", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var _ in r.ReadBytesAsync())
            {
            }
        });
        await Assert.ThrowsAsync<InvalidOperationException>(() => r.ReadAllJsonAsync<MyEvent>());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Empty_streams_and_offset_now(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/octet-stream");
        await using (var r = await stream.StreamAsync())
        {
            Assert.Empty(await r.ReadAllBytesAsync());
            Assert.True(r.UpToDate);
        }
        await stream.AppendAsync(new byte[] { 1 });
        await using (var r = await stream.StreamAsync(new StreamOptions { Offset = Offset.Now }))
        {
            Assert.Empty(await r.ReadAllBytesAsync());
            Assert.Equal((await stream.HeadAsync()).Offset, r.Offset);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Disposing_a_response_before_reading_is_fine(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await stream.AppendAsync("x");
        var r = await stream.StreamAsync();
        await r.DisposeAsync();
        await r.DisposeAsync(); // idempotent
        await Assert.ThrowsAsync<ObjectDisposedException>(() => r.ReadAllTextAsync());
    }
}
