using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests.Integrations;

[Collection(IntegrationCollection.Name)]
public class TypedStreamTests : ServerTest
{
    public TypedStreamTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    private static OrderPlaced Order(int i) =>
        new($"order-{i}", 10.5m + i, new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero).AddMinutes(i), ["apple", $"item-{i}"]);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task SourceGeneratedRoundTrip_AppendAsyncAndReadAsync(string kind)
    {
        await using var client = NewClient(kind);
        var stream = client.GetStream(NewPath("typed"), IntegrationJsonContext.Default.OrderPlaced);
        Assert.Equal(CreateStreamResult.Created, await stream.CreateAsync(cancellationToken: Timeout()));

        await stream.AppendAsync(Order(1), Timeout());
        await stream.AppendAsync(Order(2), Timeout());
        await stream.AppendRangeAsync([Order(3), Order(4)], cancellationToken: Timeout());

        var read = new List<OrderPlaced>();
        await foreach (var order in stream.ReadAsync(cancellationToken: Timeout()))
        {
            read.Add(order!);
        }
        Assert.Equal(4, read.Count);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(Order(i + 1).OrderId, read[i].OrderId);
            Assert.Equal(Order(i + 1).Amount, read[i].Amount);
            Assert.Equal(Order(i + 1).At, read[i].At);
            Assert.Equal(Order(i + 1).Items, read[i].Items);
        }

        // The wire format follows the context's options (camelCase).
        var raw = await (await stream.Stream.StreamAsync(cancellationToken: Timeout())).ReadAllTextAsync(Timeout());
        Assert.Contains("\"orderId\":\"order-1\"", raw, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task CreateAndCreateProducer_DoNotModifyTheCallersOptions(string kind)
    {
        await using var client = NewClient(kind);
        var stream = client.GetStream(NewPath("typed-options"), IntegrationJsonContext.Default.OrderPlaced);
        var createOptions = new CreateStreamOptions { Ttl = TimeSpan.FromHours(1) };
        await stream.CreateAsync(createOptions, Timeout());
        Assert.Null(createOptions.ContentType);
        Assert.Equal(TimeSpan.FromHours(1), createOptions.Ttl);
        Assert.Equal("application/json", (await stream.HeadAsync(Timeout())).ContentType);

        // The same options object used for another (untyped, octet-stream) stream afterwards.
        var other = client.GetStream(NewPath("typed-options-bytes"));
        await other.CreateAsync(createOptions, Timeout());
        Assert.DoesNotContain("json", (await other.HeadAsync(Timeout())).ContentType ?? string.Empty, StringComparison.OrdinalIgnoreCase);

        var producerOptions = new IdempotentProducerOptions { Linger = TimeSpan.FromMilliseconds(1) };
        await using (var producer = stream.CreateProducer("typed-options-1", producerOptions))
        {
            producer.Append(Order(1));
            await producer.FlushAsync(Timeout());
        }
        Assert.Null(producerOptions.ContentType);
        Assert.Equal(TimeSpan.FromMilliseconds(1), producerOptions.Linger);
        Assert.Single(await stream.ReadAllAsync(cancellationToken: Timeout()));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task TypedProducer_AppendTryAppendAppendAsync_FlushThenReadBatchesWithCheckpoint(string kind)
    {
        await using var client = NewClient(kind);
        var stream = client.GetStream<OrderPlaced>(NewPath("typed-producer"), IntegrationJsonContext.Default);
        await stream.CreateAsync(cancellationToken: Timeout());

        await using (var producer = stream.CreateProducer("typed-1"))
        {
            var errors = 0;
            producer.OnError += (_, _) => Interlocked.Increment(ref errors);
            producer.Append(Order(1));
            Assert.True(producer.TryAppend(Order(2)));
            await producer.AppendAsync(Order(3), Timeout());
            await producer.FlushAsync(Timeout());
            Assert.Equal(0, producer.PendingCount);
            Assert.Equal(0, errors);
            Assert.Equal("typed-1", producer.ProducerId);
        }

        var batches = new List<JsonBatch<OrderPlaced>>();
        await foreach (var batch in stream.ReadBatchesAsync(cancellationToken: Timeout()))
        {
            batches.Add(batch);
        }
        var all = batches.SelectMany(b => b.Items).ToList();
        Assert.Equal(["order-1", "order-2", "order-3"], all.Select(o => o!.OrderId));
        Assert.True(batches[^1].UpToDate);

        // Resume from the checkpoint: nothing new, then one more message.
        var checkpoint = batches[^1].Checkpoint;
        await stream.AppendAsync(Order(4), Timeout());
        var resumed = await stream.ReadAllAsync(new StreamOptions { Checkpoint = checkpoint }, Timeout());
        Assert.Equal(["order-4"], resumed.Select(o => o!.OrderId));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task LiveTypedRead_DeliversMessagesAppendedLater(string kind)
    {
        await using var client = NewClient(kind);
        var path = NewPath("typed-live");
        var stream = client.GetStream(path, IntegrationJsonContext.Default.OrderPlaced);
        await stream.CreateAsync(cancellationToken: Timeout());
        await stream.AppendAsync(Order(1), Timeout());

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = new List<OrderPlaced>();
        var reader = Task.Run(async () =>
        {
            await foreach (var order in stream.ReadAsync(new StreamOptions { Live = LiveMode.Auto }, cts.Token))
            {
                received.Add(order!);
                if (received.Count == 3)
                {
                    break;
                }
            }
        });
        await Task.Delay(200);
        await stream.AppendAsync(Order(2), Timeout());
        await stream.AppendAsync(Order(3), Timeout());
        await reader.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(["order-1", "order-2", "order-3"], received.Select(o => o.OrderId));
    }

    [Fact]
    public void ContextWithoutTheType_IsRejected()
    {
        using var client = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = "http://127.0.0.1:9/v1/stream" });
        var e = Assert.Throws<ArgumentException>(() => client.GetStream<Uri>("/x", IntegrationJsonContext.Default));
        Assert.Contains("JsonSerializable", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppendRangeAsync_RejectsEmpty()
    {
        await using var client = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = "http://127.0.0.1:9/v1/stream" });
        var stream = client.GetStream("/x", IntegrationJsonContext.Default.OrderPlaced);
        await Assert.ThrowsAsync<ArgumentException>(() => stream.AppendRangeAsync([]));
    }
}
