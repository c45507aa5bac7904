// The "AI Token Streaming" example of the DurableStreams documentation, runnable against a real
// server with a fake LLM:
//
//   dotnet run -- http://127.0.0.1:4437/v1/stream
//
// The documented code (between the markers) is unchanged; everything else here provides what it
// refers to: client, generationId, llm, prompt, savedOffset, RenderToken and SaveOffsetAsync.
using System.Text;
using DurableStreams;

var baseUrl = args.Length > 0 ? args[0] : Environment.GetEnvironmentVariable("DURABLE_STREAMS_URL") ?? "http://127.0.0.1:4437/v1/stream";
await using var client = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = baseUrl });
var generationId = Guid.NewGuid().ToString("N");
var llm = new FakeLlm();
var prompt = "Write a haiku about durable streams.";
Offset savedOffset = Offset.Beginning; // a client that refreshes would pass its saved offset here
var rendered = new StringBuilder();

// --- from the documentation, unchanged ---
// Server: Stream LLM tokens with exactly-once delivery
var stream = await client.CreateStreamAsync($"/generations/{generationId}",
    new CreateStreamOptions { ContentType = "text/plain" });

await using var producer = stream.CreateProducer(generationId, new IdempotentProducerOptions
{
    AutoClaim = true,
    Linger = TimeSpan.FromMilliseconds(10)  // Low latency for token streaming
});

bool fenced = false;
producer.OnError += (_, e) =>
{
    if (e.Exception is StaleEpochException)
    {
        fenced = true;  // Another worker took over
    }
};

await foreach (var token in llm.StreamAsync(prompt))
{
    if (fenced) break;
    producer.Append(token);
}

await producer.FlushAsync();

// Client: Resume from last position (refresh-safe)
await using var response = await stream.StreamAsync(new StreamOptions
{
    Offset = savedOffset,
    Live = LiveMode.LongPoll
});

await foreach (var chunk in response.ReadTextAsync())
{
    RenderToken(chunk.Text);
    await SaveOffsetAsync(chunk.Checkpoint);
}
// --- end ---

Console.WriteLine();
Console.WriteLine($"[stream {stream.Url} closed at {response.Offset}]");
return rendered.ToString() == string.Concat(FakeLlm.Tokens) ? 0 : 1;

void RenderToken(string text)
{
    rendered.Append(text);
    Console.Write(text);
}

async Task SaveOffsetAsync(StreamCheckpoint checkpoint)
{
    // A real client would persist checkpoint.ToString() (e.g. in local storage) to resume after
    // a refresh. This demo also plays the generation's "end": once the whole answer has been
    // rendered it closes the stream, which ends the live read above.
    savedOffset = checkpoint.Offset;
    if (rendered.ToString() == string.Concat(FakeLlm.Tokens))
    {
        await client.GetStream(stream.Url).CloseAsync();
    }
}

/// <summary>Stands in for an LLM client: yields a fixed answer token by token.</summary>
internal sealed class FakeLlm
{
    public static readonly string[] Tokens =
    [
        "Bytes", " flow", " in", " order", ",\n",
        "offsets", " hold", " our", " place", " through", " storms", ",\n",
        "nothing", " lost", ",", " nothing", " twice", ".",
    ];

    public async IAsyncEnumerable<string> StreamAsync(string prompt)
    {
        _ = prompt;
        foreach (var token in Tokens)
        {
            await Task.Delay(5);
            yield return token;
        }
    }
}
