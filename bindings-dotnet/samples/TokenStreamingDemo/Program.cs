// `./build.sh demo`, i.e. `TokenStreamingDemo <stream-prefix-url>` (or DS_DEMO_STREAM_PREFIX): AI
// token streaming that survives a dropped connection. A fake model writes an answer token by token
// with an IdempotentProducer (exactly-once); a chat UI reads it live over SSE through a TCP relay
// standing in for the network, saving a checkpoint after every chunk. Midway the relay resets every
// connection and the UI is abandoned; a new UI resumes from the saved checkpoint, and every token
// must arrive exactly once, in order. Exit code: 0 success, 1 failure, 2 bad usage.
using System.Diagnostics;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using DurableStreams;
using TokenStreamingDemo;

var prefix = (args.Length > 0 ? args[0] : Environment.GetEnvironmentVariable("DS_DEMO_STREAM_PREFIX"))?.TrimEnd('/');
if (!Uri.TryCreate(prefix, UriKind.Absolute, out var prefixUri) || prefixUri.Scheme != Uri.UriSchemeHttp)
{
    Console.Error.WriteLine("usage: TokenStreamingDemo <stream-prefix-url>   (or set DS_DEMO_STREAM_PREFIX)");
    Console.Error.WriteLine("  (the http:// URL under which a running server keeps its streams, e.g. http://127.0.0.1:4437/v1/stream)");
    return 2;
}

var answer = """
    Because the answer is not tied to the connection. The model writes every token to a durable
    stream, and the server gives each chunk an offset: a position in the stream that never changes.
    The chat window reads the stream live and saves the offset of the last chunk it has shown. When
    the network drops or the tab is closed, nothing is lost on the server: the model keeps writing,
    and the stream keeps every token in order. When the window comes back, it asks for the stream
    from its saved offset, so it receives exactly the tokens it missed, then follows the rest of the
    answer live until the stream is closed. The writer is an idempotent producer: each batch carries
    a producer id, an epoch and a sequence number, so when a write is retried after a timeout the
    server keeps one copy and drops the duplicate. Offsets on the reading side and sequence numbers
    on the writing side give exactly-once delivery: every token appears once, in order, whatever
    the network did in between.
    """.ReplaceLineEndings(" ");
// Roughly how an LLM tokenizer splits text: about four characters a token.
var tokens = Regex.Matches(answer, @"\s*(?:\w{1,4}|[^\w\s])").Select(m => m.Value).ToArray();

// The demo must never hang: everything stops after 60 s, or at once if the model fails.
using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
var ct = stop.Token;
var model = Task.CompletedTask;
var clock = Stopwatch.StartNew();
var name = $"demo-tokens-{Guid.NewGuid():N}"[..20];   // a fresh stream per run
var received = new List<TokenMessage>();               // every token the UI has shown, in order
var saved = new StreamCheckpoint(Offset.Beginning);    // what the UI persists (local storage in a browser)
var halfway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
var column = 0;
try
{
    using var relay = new Relay(prefixUri.Host, prefixUri.Port);
    var relayPrefix = new UriBuilder(prefixUri) { Host = "127.0.0.1", Port = relay.Port }.Uri.ToString().TrimEnd('/');
    await using var backend = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = prefix });
    var stream = await backend.CreateStreamAsync(name, new CreateStreamOptions { ContentType = "application/json" }, ct);
    Console.WriteLine("Durable Streams demo: AI token streaming that survives a dropped connection");
    Console.WriteLine($"  stream   {stream.Url} (application/json)");
    Console.WriteLine($"  model    {tokens.Length} tokens, exactly once (IdempotentProducer), straight to the server");
    Console.WriteLine($"  chat UI  live over SSE, through a TCP relay at 127.0.0.1:{relay.Port} (the \"network\")");
    model = RunModelAsync(stream, ct);

    Console.WriteLine("[chat UI #1] reading from the beginning:");
    await using (var ui1 = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = relayPrefix }))
    {
        using var kill = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reader1 = ReadAsync(ui1, kill.Token);
        await Task.WhenAny(halfway.Task, reader1).WaitAsync(ct);
        if (reader1.IsFaulted)
        {
            await reader1; // it failed before the drop: report that
        }
        var resets = relay.DropAll(); // the network dies: every connection is reset...
        kill.Cancel();                // ...and the UI with it (tab closed, process killed)
        // However the dying read ends (cancelled, or a reset connection), the UI is gone.
        await ((Task)reader1).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        NewLine();
        Console.WriteLine($"!! connection dropped after {received.Count} tokens; saved offset {saved.Offset}");
        Console.WriteLine($"   (relay: {resets} open connection(s) reset, network down 0.5 s; chat UI #1 abandoned)");
    }
    var before = received.Count;
    await Task.Delay(TimeSpan.FromMilliseconds(500), ct); // the model keeps writing meanwhile

    // A new client (a reloaded page) resumes from the saved checkpoint through the relay, which
    // accepts again: it catches up on what it missed, follows live, and ends when the stream closes.
    relay.Restore();
    Console.WriteLine("[chat UI #2] a new client resumes from the saved offset, through the relay:");
    await using var ui2 = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = relayPrefix });
    var closedAt = await ReadAsync(ui2, ct);
    NewLine();
    await model;

    // Exactly once, in order: the indices must be 0..n-1 and the text the original answer.
    var inOrder = received.Select(t => t.I).SequenceEqual(Enumerable.Range(0, tokens.Length));
    if (!inOrder || string.Concat(received.Select(t => t.Token)) != answer)
    {
        var distinct = received.Select(t => t.I).Distinct().Count();
        throw new InvalidOperationException($"received {received.Count}/{tokens.Length} tokens: "
            + $"{tokens.Length - distinct} lost, {received.Count - distinct} repeated, or out of order");
    }
    var after = received.Count - before;
    Console.WriteLine($"received {received.Count}/{tokens.Length} tokens ({before} + {after}): nothing lost, nothing repeated");
    await stream.DeleteAsync(ct);
    Console.WriteLine($"stream closed at offset {closedAt}, then deleted. OK in {clock.Elapsed.TotalSeconds:0.0} s");
    return 0;
}
catch (Exception e)
{
    var timedOut = stop.IsCancellationRequested;
    stop.Cancel(); // stop the model too; give it a moment, as a failure of its own is the one to report
    await Task.WhenAny(model, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None));
    NewLine();
    var error = model.Exception?.InnerException ?? e;
    Console.Error.WriteLine(error is OperationCanceledException && timedOut
        ? $"demo FAILED: timed out after 60 s ({received.Count} of {tokens.Length} tokens received)"
        : $"demo FAILED: {error.GetType().Name}: {error.Message}");
    return 1;
}

// The model: one JSON message per token, at an LLM's pace. Producer id, epoch and sequence numbers
// let the server drop any batch the producer has to send again, so nothing is written twice.
async Task RunModelAsync(DurableStream stream, CancellationToken token)
{
    // Linger 5 ms: low latency, a token waits at most 5 ms for others to share its batch.
    var options = new IdempotentProducerOptions { AutoClaim = true, Linger = TimeSpan.FromMilliseconds(5) };
    await using var producer = stream.CreateProducer("demo-model", options);
    try
    {
        for (var i = 0; i < tokens.Length; i++)
        {
            producer.Append(new TokenMessage(i, tokens[i]), DemoJson.Default.TokenMessage);
            await Task.Delay(Random.Shared.Next(5, 11), token);
        }
        await producer.FlushAsync(token);  // throws if a batch could not be delivered
        await producer.CloseAsync(token);  // no more tokens: live reads end here
    }
    catch (Exception) when (!token.IsCancellationRequested)
    {
        stop.Cancel(); // the stream will never close: stop the readers instead of letting them wait
        throw;
    }
}

// The chat UI: shows tokens as they arrive and saves the checkpoint after each chunk, so a
// restarted UI continues right after what it has shown. Returns where the closed stream ends.
async Task<Offset> ReadAsync(DurableStreamClient client, CancellationToken token)
{
    var options = new StreamOptions { Checkpoint = saved, Live = LiveMode.Sse };
    await using var response = await client.GetStream(name).StreamAsync(options, token);
    await foreach (var batch in response.ReadJsonBatchesAsync(DemoJson.Default.TokenMessage, token))
    {
        foreach (var message in batch.Items)
        {
            if (message is null)
            {
                continue; // a JSON null message: nothing to render
            }
            received.Add(message);
            Render(message.Token);
        }
        saved = batch.Checkpoint; // a browser would store batch.Checkpoint.ToString()
        if (received.Count >= tokens.Length / 2)
        {
            halfway.TrySetResult();
        }
    }
    // A live read ends only at the end of a closed stream (or with an exception).
    return response.StreamClosed ? response.Offset : throw new InvalidOperationException("the read ended early");
}

// Prints the answer as it grows, indented and wrapped between words to fit 80 columns.
void Render(string token)
{
    if (column == 0 || (column + token.Length > 70 && token.StartsWith(' ')))
    {
        NewLine();
        Console.Write("    ");
        token = token.TrimStart();
        column = 4;
    }
    Console.Write(token);
    column += token.Length;
}

void NewLine()
{
    if (column > 0)
    {
        Console.WriteLine();
        column = 0;
    }
}

/// <summary>One token of the answer; its index makes loss and repetition checkable.</summary>
internal sealed record TokenMessage(int I, string Token);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(TokenMessage))]
internal sealed partial class DemoJson : JsonSerializerContext;
