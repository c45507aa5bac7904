using System.Diagnostics;
using System.Text;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

[Collection(LiveCollection.Name)]
public class LiveReadTests : ServerTest
{
    public LiveReadTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string, LiveMode> KindsAndModes => new()
    {
        { TestServers.Electric, LiveMode.LongPoll },
        { TestServers.Electric, LiveMode.Sse },
        { TestServers.Node, LiveMode.LongPoll },
        { TestServers.Node, LiveMode.Sse },
    };

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [MemberData(nameof(KindsAndModes))]
    public async Task Live_reads_receive_new_data_and_end_when_the_stream_is_closed(string kind, LiveMode mode)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        await stream.AppendJsonAsync(new MyEvent("before", 0));

        await using var response = await stream.StreamAsync(new StreamOptions { Live = mode });
        var seenUpToDate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new List<MyEvent>();
        var batches = 0;
        var reader = Task.Run(async () =>
        {
            await foreach (var batch in response.ReadJsonBatchesAsync<MyEvent>(Timeout(30)))
            {
                batches++;
                received.AddRange(batch.Items!);
                if (batch.UpToDate)
                {
                    seenUpToDate.TrySetResult();
                }
            }
        });

        await seenUpToDate.Task.WaitAsync(Timeout());
        await stream.AppendJsonAsync(new MyEvent("live", 1));
        await Task.Delay(300);
        await stream.AppendJsonAsync(new MyEvent("live", 2));
        await Task.Delay(300);
        // Closing while the reader waits ends the enumeration.
        var sw = Stopwatch.StartNew();
        await stream.CloseAsync();
        await reader.WaitAsync(Timeout(10));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"reader took {sw.Elapsed} to end after close");

        Assert.Equal([0, 1, 2], received.Select(e => e.N));
        Assert.True(response.StreamClosed);
        Assert.True(response.UpToDate);
        Assert.True(batches >= 2);
        Assert.Equal(mode, response.Live);
    }

    [Theory]
    [MemberData(nameof(KindsAndModes))]
    public async Task Reading_from_now_sees_only_new_data(string kind, LiveMode mode)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await stream.AppendAsync("old ");

        await using var response = await stream.StreamAsync(new StreamOptions { Offset = Offset.Now, Live = mode });
        var reader = Task.Run(async () =>
        {
            var text = new StringBuilder();
            await foreach (var chunk in response.ReadTextAsync(Timeout(30)))
            {
                text.Append(chunk.Text);
            }
            return text.ToString();
        });
        await Task.Delay(500);
        await stream.AppendAsync("new");
        await Task.Delay(300);
        await stream.CloseAsync();
        Assert.Equal("new", await reader.WaitAsync(Timeout()));
    }

    // Long-poll only: over SSE, servers send text/* data as text, and both reference servers
    // replace an incomplete UTF-8 sequence at the end of an event with U+FFFD (server-side).
    [Theory]
    [InlineData(TestServers.Electric, LiveMode.LongPoll)]
    [InlineData(TestServers.Node, LiveMode.LongPoll)]
    public async Task A_multibyte_character_split_across_chunks_decodes_intact(string kind, LiveMode mode)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        var euro = Encoding.UTF8.GetBytes("€"); // E2 82 AC

        await using var response = await stream.StreamAsync(new StreamOptions { Live = mode });
        var chunks = new List<TextChunk>();
        var upToDate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new SemaphoreSlim(0);
        var reader = Task.Run(async () =>
        {
            await foreach (var chunk in response.ReadTextAsync(Timeout(30)))
            {
                lock (chunks)
                {
                    chunks.Add(chunk);
                }
                if (chunk.UpToDate)
                {
                    upToDate.TrySetResult();
                }
                progress.Release();
            }
        });
        await upToDate.Task.WaitAsync(Timeout());
        await progress.WaitAsync(Timeout()); // the up-to-date chunk itself
        await stream.AppendAsync(new byte[] { (byte)'a', euro[0] });
        await progress.WaitAsync(Timeout()); // wait until the first part arrived on its own
        await stream.AppendAsync(new byte[] { euro[1], euro[2], (byte)'b' });
        await Task.Delay(300);
        await stream.CloseAsync();
        await reader.WaitAsync(Timeout());

        Assert.Equal("a€b", string.Concat(chunks.Select(c => c.Text)));
        Assert.Contains(chunks, c => c.Text == "a"); // the split really happened across chunks
        Assert.True(chunks[^1].StreamClosed);
        Assert.Equal(chunks[^1].Offset, chunks[^1].Checkpoint.Offset);
    }

    [Theory]
    [MemberData(nameof(KindsAndModes))]
    public async Task A_waiting_read_cancelled_by_its_token_ends_promptly(string kind, LiveMode mode)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/octet-stream");
        await using var response = await stream.StreamAsync(new StreamOptions { Live = mode });
        using var cts = new CancellationTokenSource();
        var upToDate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(async () =>
        {
            await foreach (var chunk in response.ReadBytesAsync(cts.Token))
            {
                if (chunk.UpToDate)
                {
                    upToDate.TrySetResult();
                }
            }
        });
        await upToDate.Task.WaitAsync(Timeout());
        await Task.Delay(200); // now waiting for data
        var sw = Stopwatch.StartNew();
        await cts.CancelAsync();
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.WaitAsync(Timeout(10)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"cancellation took {sw.Elapsed}");
        Assert.Equal(cts.Token, e.CancellationToken);

        // The session is over: later reads are refused (single consumer) .
        await Assert.ThrowsAsync<InvalidOperationException>(() => response.ReadAllBytesAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task WithCancellation_and_Cancel_end_a_waiting_read(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");

        await using (var response = await stream.StreamAsync(new StreamOptions { Live = LiveMode.LongPoll }))
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
            var sw = Stopwatch.StartNew();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var _ in response.ReadTextAsync().WithCancellation(cts.Token))
                {
                }
            });
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"WithCancellation took {sw.Elapsed}");
        }

        await using (var response = await stream.StreamAsync(new StreamOptions { Live = LiveMode.Sse }))
        {
            var reader = Task.Run(async () =>
            {
                await foreach (var _ in response.ReadBytesAsync())
                {
                }
            });
            await Task.Delay(500);
            var sw = Stopwatch.StartNew();
            response.Cancel();
            response.Cancel(); // idempotent
            var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.WaitAsync(Timeout(10)));
            Assert.Contains("Cancel()", e.Message, StringComparison.Ordinal);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"Cancel took {sw.Elapsed}");
        }

        // ReadAll with an already-cancelled token.
        await using (var response = await stream.StreamAsync(new StreamOptions { Live = LiveMode.LongPoll }))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => response.ReadAllTextAsync(new CancellationToken(canceled: true)));
        }

        // StreamAsync's own token cancels the first request.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            stream.StreamAsync(new StreamOptions { Live = LiveMode.LongPoll }, new CancellationToken(canceled: true)));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Disposing_a_response_stops_a_waiting_read(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        var response = await stream.StreamAsync(new StreamOptions { Offset = Offset.Now, Live = LiveMode.LongPoll });
        var reader = Task.Run(async () =>
        {
            await foreach (var _ in response.ReadTextAsync())
            {
            }
        });
        await Task.Delay(300);
        var sw = Stopwatch.StartNew();
        await response.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => reader.WaitAsync(Timeout(10)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"dispose took {sw.Elapsed}");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Read_all_on_a_live_read_returns_once_up_to_date(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        await stream.AppendJsonAsync(new MyEvent("a", 1));
        await using var r = await stream.StreamAsync(new StreamOptions { Live = LiveMode.LongPoll });
        var sw = Stopwatch.StartNew();
        Assert.Single(await r.ReadAllJsonAsync<MyEvent>(Timeout()));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2));
        Assert.True(r.UpToDate);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Json_stream_live_with_ReadJsonAsync(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        await using var r = await stream.StreamAsync(new StreamOptions { Live = LiveMode.Auto });
        var reader = Task.Run(async () =>
        {
            var items = new List<MyEvent>();
            await foreach (var e in r.ReadJsonAsync<MyEvent>(Timeout(30)))
            {
                items.Add(e!);
            }
            return items;
        });
        for (var i = 0; i < 3; i++)
        {
            await stream.AppendJsonAsync(new MyEvent("auto", i));
        }
        await stream.CloseAsync();
        Assert.Equal([0, 1, 2], (await reader.WaitAsync(Timeout())).Select(e => e.N));
    }
}
