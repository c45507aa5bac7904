#pragma warning disable CA1822, CA1812, CS1998, CS9113, IDE0051, IDE0052, IDE0059, CA1849, CA2000 // compile checks, not style
using System.Text.Json;
using System.Text.Json.Serialization;
using DurableStreams.Extensions.DependencyInjection;
using DurableStreams.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Moq;

namespace DurableStreams.Tests;

/// <summary>
/// Code blocks copied unchanged into methods, so that the build fails if the API drifts from the
/// documentation: first the blocks of the official Durable Streams .NET client's documentation
/// (packages/client-dotnet/README.md of the durable-streams repository), whose API this package
/// keeps; then every C# block of this repository's README.md and docs/dotnet.md that uses the
/// API. Only the surrounding declarations (MyEvent, events, tokenProvider, SaveCheckpointAsync,
/// builder, app...) are added. The ASP.NET Core and AI token streaming examples of the official
/// documentation live in samples/.
/// </summary>
public partial class DocumentationSnippets
{
    private readonly IEnumerable<MyEvent> events = [];
    private readonly ITokenProvider tokenProvider = new StaticTokenProvider();
    private readonly StreamCheckpoint savedCheckpoint = new(Offset.Beginning);

    private interface ITokenProvider
    {
        ValueTask<string> GetTokenAsync(CancellationToken ct);
    }

    private sealed class StaticTokenProvider : ITokenProvider
    {
        public ValueTask<string> GetTokenAsync(CancellationToken ct) => ValueTask.FromResult("token");
    }

    private static Task SaveCheckpointAsync(StreamCheckpoint checkpoint) => Task.CompletedTask;

    private static Task ProcessDataAsync(ReadOnlyMemory<byte> data) => Task.CompletedTask;

    private async Task QuickStartReading()
    {
        // Create a client (singleton, reuse across your application)
        await using var client = new DurableStreamClient(new DurableStreamClientOptions
        {
            BaseUrl = "https://streams.example.com"
        });

        // Get a handle to a stream
        var stream = client.GetStream("/my-account/events");

        // Read all existing data (catch-up mode)
        await using var response = await stream.StreamAsync(new StreamOptions
        {
            Offset = Offset.Beginning,  // Start from the beginning
            Live = LiveMode.Off         // Stop when caught up
        });

        var messages = await response.ReadAllJsonAsync<MyEvent>();
        foreach (var msg in messages)
        {
            Console.WriteLine($"Event: {msg!.Type}");
        }
    }

    private async Task LiveStreaming(DurableStream stream)
    {
        // Stream live updates using C#'s async enumerable
        await using var response = await stream.StreamAsync(new StreamOptions
        {
            Offset = Offset.Beginning,
            Live = LiveMode.LongPoll  // Wait for new data
        });

        await foreach (var batch in response.ReadJsonBatchesAsync<MyEvent>())
        {
            foreach (var item in batch.Items)
            {
                Console.WriteLine($"Received: {item!.Type}");
            }

            // Save checkpoint for resumption
            await SaveCheckpointAsync(batch.Checkpoint);

            if (batch.UpToDate)
                Console.WriteLine("Caught up to live!");
        }
    }

    private async Task ExactlyOnce(DurableStream stream)
    {
        // Create an idempotent producer for reliable writes
        await using var producer = stream.CreateProducer("my-service-1", new IdempotentProducerOptions
        {
            AutoClaim = true,           // Auto-recover from epoch conflicts
            MaxBatchBytes = 1024 * 1024, // 1MB batch size
            Linger = TimeSpan.FromMilliseconds(5)  // Batch for 5ms before sending
        });

        // Handle errors (fire-and-forget model)
        producer.OnError += (sender, e) =>
        {
            Console.WriteLine($"Batch failed: {e.Exception.Message}");
        };

        // Fire-and-forget writes - automatically batched and pipelined
        foreach (var evt in events)
        {
            producer.Append(evt);  // Don't await - errors go to OnError
        }

        // Ensure all messages are delivered before shutdown
        await producer.FlushAsync();
    }

    private async Task StreamsAndHandles(DurableStreamClient client)
    {
        // Get a handle (no network I/O)
        var stream = client.GetStream("/my-stream");

        // Or create the stream on the server
        await stream.CreateAsync(new CreateStreamOptions
        {
            ContentType = "application/json",
            Ttl = TimeSpan.FromHours(1)  // Auto-delete after 1 hour
        });
    }

    private async Task OffsetsAndResumption(DurableStream stream)
    {
        // (The two sentinel lines of this block are illustrative expressions, not statements.)
        _ = Offset.Beginning;  // "-1" - Start of stream
        _ = Offset.Now;        // "now" - Current tail (skip existing data)

        // Resume from a saved checkpoint (simplest approach)
        var response = await stream.StreamAsync(new StreamOptions
        {
            Checkpoint = savedCheckpoint  // Sets Offset and Cursor automatically
        });

        // Save the checkpoint as you consume
        await foreach (var chunk in response.ReadBytesAsync())
        {
            await ProcessDataAsync(chunk.Data);
            await SaveCheckpointAsync(chunk.Checkpoint);  // Includes Offset + Cursor
        }
    }

    private void LiveModes()
    {
        _ = LiveMode.Off;       // Catch-up only - stop at first UpToDate
        _ = LiveMode.LongPoll;  // HTTP polling with server timeout
        _ = LiveMode.Sse;       // Server-Sent Events persistent connection
    }

    private DurableStreamClient ClientOptions()
    {
        var client = new DurableStreamClient(new DurableStreamClientOptions
        {
            BaseUrl = "https://streams.example.com",

            // Static headers
            DefaultHeaders = new Dictionary<string, string>
            {
                ["Authorization"] = "Bearer my-token"
            },

            // Dynamic headers (evaluated at the start of each operation)
            // Note: Not re-evaluated on retries within the same operation
            DynamicHeaders = new Dictionary<string, Func<CancellationToken, ValueTask<string>>>
            {
                ["Authorization"] = async ct =>
                {
                    var token = await tokenProvider.GetTokenAsync(ct);
                    return $"Bearer {token}";
                }
            },

            // Custom JSON serialization options (optional)
            JsonSerializerOptions = new JsonSerializerOptions
            {
                PropertyNamingPolicy = JsonNamingPolicy.CamelCase
            },

            // Retry configuration
            MaxRetries = 3,
            InitialRetryDelay = TimeSpan.FromMilliseconds(100),
            MaxRetryDelay = TimeSpan.FromSeconds(30)
        });
        return client;
    }

    private IdempotentProducer ProducerOptions(DurableStream stream)
    {
        var producer = stream.CreateProducer("my-producer", new IdempotentProducerOptions
        {
            Epoch = 0,                  // Starting epoch (increment on restart)
            AutoClaim = true,           // Auto-increment epoch on 403
            MaxBatchBytes = 1024 * 1024, // 1MB
            Linger = TimeSpan.FromMilliseconds(5),  // Wait for more messages
            MaxInFlight = 5,            // Concurrent batches
            MaxBufferedMessages = 10_000,
            MaxBufferedBytes = 64 * 1024 * 1024  // 64MB
        });
        return producer;
    }

    private async Task ErrorHandling(DurableStream stream, byte[] data)
    {
        try
        {
            await stream.AppendAsync(data);
        }
        catch (StreamNotFoundException)
        {
            // Stream doesn't exist (404)
        }
        catch (StaleEpochException ex)
        {
            // Producer epoch is stale (403) - another producer claimed ownership
            Console.WriteLine($"Current server epoch: {ex.CurrentEpoch}");
        }
        catch (SequenceGapException ex)
        {
            // Sequence gap detected (409)
            Console.WriteLine($"Expected: {ex.ExpectedSeq}, Got: {ex.ReceivedSeq}");
        }
        catch (DurableStreamException ex)
        {
            // Other protocol errors
            Console.WriteLine($"Error {ex.Code}: {ex.Message}");
        }
    }

    private async Task ApiReferenceShapes(DurableStreamClient client, DurableStream stream, StreamResponse response, IdempotentProducer producer)
    {
        // DurableStreamClient
        DurableStream s1 = client.GetStream("url");
        DurableStream s2 = client.GetStream(new Uri("http://h/u"));
        DurableStream s3 = await client.CreateStreamAsync("url", null);
        DurableStream s4 = await client.CreateStreamAsync(new Uri("http://h/u"));
        DurableStream s5 = await client.ConnectAsync("url");
        DurableStream s6 = await client.ConnectAsync(new Uri("http://h/u"));
        await client.DeleteStreamAsync("url");
        await client.DeleteStreamAsync(new Uri("http://h/u"));

        // DurableStream
        string url = stream.Url;
        string? contentType = stream.ContentType;
        AppendResult r1 = await stream.AppendAsync(ReadOnlyMemory<byte>.Empty, null);
        AppendResult r2 = await stream.AppendAsync("data", null);
        AppendResult r3 = await stream.AppendJsonAsync(new MyEvent("t", 1), null);
        StreamResponse sr = await stream.StreamAsync(null);
        StreamMetadata meta = await stream.HeadAsync();
        CreateStreamResult created = await stream.CreateAsync(null);
        await stream.DeleteAsync();
        IdempotentProducer p = stream.CreateProducer("id", null);

        // StreamResponse
        Offset o1 = response.Offset;
        Offset o2 = response.StartOffset;
        StreamCheckpoint cp = response.Checkpoint;
        bool upToDate = response.UpToDate;
        byte[] bytes = await response.ReadAllBytesAsync();
        List<MyEvent?> list = await response.ReadAllJsonAsync<MyEvent>();
        string text = await response.ReadAllTextAsync();
        IAsyncEnumerable<ByteChunk> e1 = response.ReadBytesAsync();
        IAsyncEnumerable<MyEvent?> e2 = response.ReadJsonAsync<MyEvent>();
        IAsyncEnumerable<JsonBatch<MyEvent>> e3 = response.ReadJsonBatchesAsync<MyEvent>();
        IAsyncEnumerable<TextChunk> e4 = response.ReadTextAsync();
        response.Cancel();

        // IdempotentProducer (Epoch and NextSeq are long: the protocol allows 2^53-1)
        long epoch = producer.Epoch;
        long nextSeq = producer.NextSeq;
        int pending = producer.PendingCount;
        int inFlight = producer.InFlightCount;
        producer.Append(ReadOnlyMemory<byte>.Empty);
        producer.Append(new MyEvent("t", 1));
        producer.Append("data");
        bool ok1 = producer.TryAppend(ReadOnlyMemory<byte>.Empty);
        bool ok2 = producer.TryAppend(new MyEvent("t", 1));
        await producer.FlushAsync();
        await producer.RestartAsync();
        producer.OnError += (_, _) => { };
    }

    // ---- The C# blocks of this repository's README.md and docs/dotnet.md, unchanged. ----
    // (docs/dotnet.md's OpenTelemetry block is not here: it needs the OpenTelemetry packages.)

    private readonly AppBuilder builder = new();
    private readonly App app = new();

    /// <summary>Stands in for the <c>builder</c> of an ASP.NET Core or generic-host program.</summary>
    private sealed class AppBuilder
    {
        public IServiceCollection Services { get; } = new ServiceCollection();
    }

    /// <summary>Stands in for an ASP.NET Core <c>WebApplication</c> (only what the blocks call).</summary>
    private sealed class App
    {
        public void MapHealthChecks(string pattern) { }
    }

    // docs/dotnet.md, Quick start.
    private record ChatMessage(string From, string Text);

    // docs/dotnet.md, Typed streams.
    private record OrderPlaced(string OrderId, decimal Amount);

    [JsonSerializable(typeof(OrderPlaced))]
    partial class AppJson : JsonSerializerContext;

    // docs/dotnet.md, Dependency injection and configuration.
    public class Orders(DurableStreamClient client, IDurableStreamClientFactory clients)
    {
        private readonly DurableStreamClient _archive = clients.GetClient("archive");
    }

    private async Task ReadmeFirstProgram()
    {
        // README.md, First program (C#).
        await using var client = new DurableStreamClient(new DurableStreamClientOptions
        {
            BaseUrl = "http://127.0.0.1:4437",
        });

        // Creates the stream, or confirms that an identical one exists.
        var stream = await client.CreateStreamAsync("/hello", new CreateStreamOptions { ContentType = "text/plain" });
        await stream.AppendAsync("hello, world\n");

        // A catch-up read (the default live mode, LiveMode.Off) ends once it is up to date.
        await using var response = await stream.StreamAsync(new StreamOptions { Offset = Offset.Beginning });
        Console.Write(await response.ReadAllTextAsync());
        Console.WriteLine($"resume from offset {response.Offset}");
    }

    private async Task DotnetGuideQuickStart()
    {
        await using var client = new DurableStreamClient(new DurableStreamClientOptions
        {
            BaseUrl = "https://streams.example.com/v1/stream",
        });

        // Create a JSON stream and write to it.
        var stream = await client.CreateStreamAsync("/chat/42", new CreateStreamOptions { ContentType = "application/json" });
        await stream.AppendJsonAsync(new ChatMessage("alice", "hi"));

        // Exactly-once, fire-and-forget writes.
        await using (var producer = stream.CreateProducer("chat-service-1"))
        {
            producer.OnError += (_, e) => Console.WriteLine($"delivery failed: {e.Exception.Message}");
            producer.Append(new ChatMessage("bob", "hello"));
            await producer.FlushAsync();
        }

        // Catch up, then tail live; save the checkpoint to resume after a restart.
        await using var response = await stream.StreamAsync(new StreamOptions { Offset = Offset.Beginning, Live = LiveMode.Sse });
        await foreach (var batch in response.ReadJsonBatchesAsync<ChatMessage>())
        {
            foreach (var message in batch.Items) Console.WriteLine($"{message!.From}: {message.Text}");
            await File.WriteAllTextAsync("checkpoint.txt", batch.Checkpoint.ToString());
        }
    }

    private async Task DotnetGuideErrors(DurableStream stream)
    {
        try
        {
            await stream.AppendAsync("x");
        }
        catch (StreamClosedException)
        {
            // the stream accepts no more appends
        }
        catch (DurableStreamException ex) when (ex.Code == DurableStreamErrorCode.NetworkError)
        {
            Console.WriteLine($"{ex.CodeName}: {ex.Message}");
        }
    }

    private async Task DotnetGuideTypedStreams(DurableStreamClient client, CancellationToken ct)
    {
        var orders = client.GetStream("/orders", AppJson.Default.OrderPlaced); // DurableStream<OrderPlaced>
        await orders.CreateAsync();                          // application/json
        await orders.AppendAsync(new OrderPlaced("o-1", 42m));

        await foreach (var order in orders.ReadAsync(new StreamOptions { Live = LiveMode.Auto }, ct))
            Console.WriteLine(order!.OrderId);

        await using var producer = orders.CreateProducer("order-service-1");  // IdempotentProducer<OrderPlaced>
        producer.Append(new OrderPlaced("o-2", 7m));         // or TryAppend / AppendAsync
        await producer.FlushAsync();
    }

    private void DotnetGuideLogging()
    {
        using var loggerFactory = LoggerFactory.Create(b => b.AddConsole());
        var client = new DurableStreamClient(new() { BaseUrl = "...", LoggerFactory = loggerFactory });
    }

    private void DotnetGuideDependencyInjection()
    {
        builder.Services.AddDurableStreams();                    // binds "DurableStreams", singleton DurableStreamClient
        builder.Services.AddDurableStreams(o => o.MaxRetries = 3);   // code runs after configuration
        builder.Services.AddDurableStreams("archive");           // named: binds "DurableStreams:Clients:archive"
    }

    private void DotnetGuideHealthCheck()
    {
        builder.Services.AddHealthChecks()
            .AddDurableStreams(streamPath: "/health", notFoundIsHealthy: true, clientName: "", timeout: TimeSpan.FromSeconds(5));
        app.MapHealthChecks("/healthz");
    }
}

public class MockingSnippetTests
{
    [Fact]
    public async Task The_documented_mocking_example_works()
    {
        // From the "Testing" section, unchanged.
        var mockProducer = new Mock<IdempotentProducer>();
        mockProducer.Setup(p => p.Append(It.IsAny<string>()));

        mockProducer.Object.Append("token");
        mockProducer.Verify(p => p.Append("token"), Times.Once());

        var mockResponse = new Mock<StreamResponse>();
        mockResponse.Setup(r => r.ReadAllTextAsync(It.IsAny<CancellationToken>())).ReturnsAsync("hello");
        mockResponse.SetupGet(r => r.UpToDate).Returns(true);
        Assert.Equal("hello", await mockResponse.Object.ReadAllTextAsync());
        Assert.True(mockResponse.Object.UpToDate);
    }
}

/// <summary>
/// Stands in for <c>AddConsole</c> of Microsoft.Extensions.Logging.Console, which the test project
/// does not reference, so that docs/dotnet.md's logging block compiles unchanged.
/// </summary>
internal static class ConsoleLoggingStandIn
{
    public static ILoggingBuilder AddConsole(this ILoggingBuilder builder) => builder;
}
