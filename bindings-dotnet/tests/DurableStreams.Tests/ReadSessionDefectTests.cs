using System.Diagnostics;
using System.Text;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>Defects of read sessions found by users (issue 13, section 3), against both servers.</summary>
[Collection(LiveCollection.Name)]
public class ReadSessionDefectTests : ServerTest
{
    public ReadSessionDefectTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string, LiveMode> KindsAndModes => new()
    {
        { TestServers.Electric, LiveMode.LongPoll },
        { TestServers.Electric, LiveMode.Sse },
        { TestServers.Electric, LiveMode.Auto },
        { TestServers.Node, LiveMode.LongPoll },
        { TestServers.Node, LiveMode.Sse },
        { TestServers.Node, LiveMode.Auto },
    };

    public static TheoryData<string> Kinds => TestServers.Kinds;

    // ------------------------------------------------------------------ the start token scopes the session

    [Theory]
    [MemberData(nameof(KindsAndModes))]
    public async Task The_token_given_to_StreamAsync_ends_a_waiting_enumeration(string kind, LiveMode mode)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/octet-stream");
        await stream.AppendAsync("x");
        using var cts = new CancellationTokenSource();
        await using var response = await stream.StreamAsync(new StreamOptions { Live = mode }, cts.Token);
        var upToDate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(async () =>
        {
            await foreach (var chunk in response.ReadBytesAsync())
            {
                if (chunk.UpToDate)
                {
                    upToDate.TrySetResult();
                }
            }
        });
        await upToDate.Task.WaitAsync(Timeout());
        await Task.Delay(200); // now waiting for data on an idle stream
        var sw = Stopwatch.StartNew();
        await cts.CancelAsync();
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.WaitAsync(Timeout(10)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"the read took {sw.Elapsed} to end after the start token fired");
        Assert.Equal(cts.Token, e.CancellationToken);
        Assert.Contains("StreamAsync", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> KindsAndConsumers
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var kind in new[] { TestServers.Electric, TestServers.Node })
            {
                foreach (var consumer in new[] { "json", "json-batches", "text", "bytes-with-own-token", "long-poll-from-now", "typed-read" })
                {
                    data.Add(kind, consumer);
                }
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(KindsAndConsumers))]
    public async Task The_start_token_scopes_every_consumer(string kind, string consumer)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        await stream.AppendJsonAsync(new MyEvent("a", 1));
        using var cts = new CancellationTokenSource();
        using var own = new CancellationTokenSource(); // never fires
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        StreamResponse? response = null;
        var options = consumer == "long-poll-from-now"
            ? new StreamOptions { Live = LiveMode.LongPoll, Offset = Offset.Now }
            : new StreamOptions { Live = LiveMode.Sse };
        var reader = Task.Run(async () =>
        {
            if (consumer == "typed-read")
            {
                started.TrySetResult();
                await foreach (var _ in client.GetStream<MyEvent>(stream.Url).ReadAsync(options, cts.Token))
                {
                }
                return;
            }
            response = await stream.StreamAsync(options, cts.Token);
            started.TrySetResult();
            switch (consumer)
            {
                case "json":
                    await foreach (var _ in response.ReadJsonAsync<MyEvent>())
                    {
                    }
                    break;
                case "json-batches":
                    await foreach (var _ in response.ReadJsonBatchesAsync<MyEvent>())
                    {
                    }
                    break;
                case "text":
                    await foreach (var _ in response.ReadTextAsync())
                    {
                    }
                    break;
                default:
                    await foreach (var _ in response.ReadBytesAsync(own.Token))
                    {
                    }
                    break;
            }
        });
        try
        {
            await started.Task.WaitAsync(Timeout());
            await Task.Delay(500); // caught up, now waiting for data
            var sw = Stopwatch.StartNew();
            await cts.CancelAsync();
            var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.WaitAsync(Timeout(10)));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"{consumer}: the read took {sw.Elapsed} to end after the start token fired");
            Assert.Equal(cts.Token, e.CancellationToken);
        }
        finally
        {
            if (response is not null)
            {
                await response.DisposeAsync();
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_start_token_that_never_fires_changes_nothing(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await stream.AppendAsync("hello");
        using var cts = new CancellationTokenSource();
        await using (var response = await stream.StreamAsync(null, cts.Token))
        {
            Assert.Equal("hello", await response.ReadAllTextAsync());
        }
        // A token already cancelled fails at once.
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.StreamAsync(null, cts.Token));
    }

    // ------------------------------------------------------------------ closure, empty JSON, stacks, create

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_empty_json_read_has_empty_data(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        await using (var response = await stream.StreamAsync())
        {
            var chunks = new List<ByteChunk>();
            await foreach (var chunk in response.ReadBytesAsync(Timeout()))
            {
                chunks.Add(chunk);
            }
            var only = Assert.Single(chunks);
            Assert.True(only.Data.IsEmpty, $"Data of an empty JSON read: \"{Encoding.UTF8.GetString(only.Data.Span)}\"");
            Assert.NotNull(only.Messages);
            Assert.Empty(only.Messages);
            Assert.True(only.UpToDate);
        }
        await using (var response = await stream.StreamAsync())
        {
            Assert.Empty(await response.ReadAllBytesAsync(Timeout()));
        }
        await stream.AppendJsonAsync(new MyEvent("a", 1));
        await using (var response = await stream.StreamAsync())
        {
            // A JSON read with messages still hands their array text.
            Assert.Equal("[{\"Type\":\"a\",\"N\":1}]", Encoding.UTF8.GetString(await response.ReadAllBytesAsync(Timeout())).Replace(" ", string.Empty, StringComparison.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_failed_StreamAsync_keeps_the_stack_of_the_failure(string kind)
    {
        await using var client = NewClient(kind);
        var stream = client.GetStream(NewPath("missing"));
        var e = await Assert.ThrowsAsync<StreamNotFoundException>(() => stream.StreamAsync());
        Assert.NotNull(e.StackTrace);
        Assert.DoesNotContain("DisposeAsync", e.StackTrace, StringComparison.Ordinal);
        Assert.Contains("StreamAsync", e.StackTrace, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Creating_over_a_closed_stream_says_it_is_closed(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await stream.CloseAsync();
        var e = await Assert.ThrowsAsync<StreamConflictException>(() => stream.CreateAsync(new CreateStreamOptions { ContentType = "text/plain" }));
        Assert.Contains("exists and is closed", e.Message, StringComparison.Ordinal);
        Assert.Equal(409, e.StatusCode);

        var open = await NewStreamAsync(client, "text/plain");
        var conflict = await Assert.ThrowsAsync<StreamConflictException>(() => open.CreateAsync(new CreateStreamOptions { ContentType = "application/json" }));
        Assert.DoesNotContain("closed", conflict.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, LiveMode, string> ClosureScenarios
    {
        get
        {
            var data = new TheoryData<string, LiveMode, string>();
            foreach (var (kind, mode) in new[]
            {
                (TestServers.Electric, LiveMode.LongPoll), (TestServers.Electric, LiveMode.Sse), (TestServers.Electric, LiveMode.Auto),
                (TestServers.Node, LiveMode.LongPoll), (TestServers.Node, LiveMode.Sse), (TestServers.Node, LiveMode.Auto),
            })
            {
                foreach (var scenario in new[] { "closed-before", "closed-while-waiting", "close-with-data-while-waiting", "append-and-close-while-waiting", "from-now-closed", "from-tail-closed" })
                {
                    data.Add(kind, mode, scenario);
                }
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(ClosureScenarios))]
    public async Task After_closure_a_live_read_ends_once_without_repeated_reports(string kind, LiveMode mode, string scenario)
    {
        await using var client = NewClient(kind);
        foreach (var json in new[] { true, false })
        {
            var stream = await NewStreamAsync(client, json ? "application/json" : "application/octet-stream");
            var tail = (await stream.AppendAsync(json ? "[1]" : "x")).Offset;
            var waiting = scenario.EndsWith("while-waiting", StringComparison.Ordinal);
            if (!waiting)
            {
                await stream.CloseAsync();
            }
            var start = scenario switch { "from-now-closed" => Offset.Now, "from-tail-closed" => tail, _ => Offset.Beginning };
            await using var response = await stream.StreamAsync(new StreamOptions { Live = mode, Offset = start });
            var seen = new List<(int Bytes, int Messages, bool UpToDate, bool Closed, string Offset)>();
            var closing = Task.CompletedTask;
            await foreach (var chunk in response.ReadBytesAsync(Timeout(15)))
            {
                seen.Add((chunk.Data.Length, chunk.Messages?.Count ?? -1, chunk.UpToDate, chunk.StreamClosed, chunk.Offset.Value));
                if (waiting && chunk.UpToDate && !chunk.StreamClosed && closing.IsCompleted && seen.Count == 1)
                {
                    closing = Task.Run(async () =>
                    {
                        await Task.Delay(200);
                        var more = Encoding.UTF8.GetBytes(json ? "[2]" : "y");
                        if (scenario == "closed-while-waiting")
                        {
                            await stream.CloseAsync();
                        }
                        else if (scenario == "close-with-data-while-waiting")
                        {
                            await stream.CloseAsync(more);
                        }
                        else
                        {
                            await stream.AppendAsync(more);
                            await stream.CloseAsync();
                        }
                    });
                }
            }
            await closing;
            var shown = string.Join(" ", seen.Select(c => $"[{c.Bytes}b m={c.Messages} u={c.UpToDate} c={c.Closed} @{c.Offset}]"));

            // The closure is reported once, by the last chunk: the read then ends.
            Assert.Single(seen, c => c.Closed);
            Assert.True(seen[^1].Closed, shown);
            Assert.True(response.StreamClosed && response.UpToDate, shown);
            for (var i = 0; i < seen.Count; i++)
            {
                var c = seen[i];
                if (json)
                {
                    // JSON chunks without messages hand no data (not the server's "[]").
                    Assert.True(c.Messages > 0 || c.Bytes == 0, shown);
                }
                if (c.Bytes == 0 && !c.Closed)
                {
                    // An empty chunk only ever reports news: reaching the tail for the first time.
                    Assert.True(c.UpToDate && (i == 0 || !seen[i - 1].UpToDate), $"a repeated empty report: {shown}");
                }
                if (i > 0 && c.Bytes == 0)
                {
                    Assert.False(seen[i - 1].Closed, shown);
                }
            }
            Assert.True(seen.Count(c => c.Bytes == 0) <= 2, $"extra empty chunks: {shown}");
            // The session is over: nothing more, nothing repeated.
            Assert.Equal(seen[^1].Offset, response.Offset.Value);
        }
    }
}
