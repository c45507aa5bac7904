using System.Text;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// <see cref="DurableStream.CloseAsync(CloseOptions?, CancellationToken)"/> and its
/// <see cref="CloseResult"/>, <see cref="IdempotentProducer.CloseStreamAsync"/>, and the
/// <see cref="CreateStreamResult"/> / <see cref="CreateStreamDetails"/> outcomes of create.
/// </summary>
[Collection(WriteCollection.Name)]
public class CloseAndCreateResultTests : ServerTest
{
    public CloseAndCreateResultTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    private static async Task<string> ReadTextAsync(DurableStream stream)
    {
        await using var r = await stream.StreamAsync(cancellationToken: Timeout());
        return await r.ReadAllTextAsync(Timeout());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Close_with_data_appends_and_closes_atomically(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain", "close-data");
        await stream.AppendAsync("first ");

        var result = await stream.CloseAsync(new CloseOptions { Data = Encoding.UTF8.GetBytes("last") }, Timeout());

        var meta = await stream.HeadAsync(Timeout());
        Assert.True(meta.StreamClosed);
        Assert.Equal(meta.Offset, result.FinalOffset);
        Assert.True(result.FinalOffset.HasValue);
        await using var r = await stream.StreamAsync(cancellationToken: Timeout());
        Assert.Equal("first last", await r.ReadAllTextAsync(Timeout()));
        Assert.True(r.StreamClosed);
        Assert.Equal(result.FinalOffset, r.Offset);
        await Assert.ThrowsAsync<StreamClosedException>(() => stream.AppendAsync("more"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Close_without_data_is_idempotent_and_returns_the_same_final_offset(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain", "close-bare");
        await stream.AppendAsync("only");

        var first = await stream.CloseAsync(cancellationToken: Timeout());
        var second = await stream.CloseAsync(new CloseOptions(), Timeout());
        var third = await stream.CloseAsync(new CloseOptions { Data = [] }, Timeout());

        Assert.True(first.FinalOffset.HasValue);
        Assert.Equal(first, second);
        Assert.Equal(first.FinalOffset, third.FinalOffset);
        var meta = await stream.HeadAsync(Timeout());
        Assert.True(meta.StreamClosed);
        Assert.Equal(meta.Offset, first.FinalOffset);
        Assert.Equal("only", await ReadTextAsync(stream));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Close_with_data_on_a_closed_stream_is_stream_closed(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain", "close-twice");
        var closed = await stream.CloseAsync(new CloseOptions { Data = "end"u8.ToArray() }, Timeout());

        var e = await Assert.ThrowsAsync<StreamClosedException>(() => stream.CloseAsync(new CloseOptions { Data = "again"u8.ToArray() }, Timeout()));
        Assert.Equal(DurableStreamErrorCode.StreamClosed, e.Code);
        // Nothing was appended by the refused close.
        Assert.Equal("end", await ReadTextAsync(stream));
        Assert.Equal(closed.FinalOffset, (await stream.HeadAsync(Timeout())).Offset);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Producer_CloseStreamAsync_delivers_closes_and_reports_the_final_offset(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json", "producer-close");
        AppendResult result;
        await using (var producer = stream.CreateProducer("closer", new IdempotentProducerOptions { Linger = TimeSpan.FromMilliseconds(50) }))
        {
            producer.Append(new MyEvent("a", 1));
            producer.Append(new MyEvent("b", 2));
            result = await producer.CloseStreamAsync(Encoding.UTF8.GetBytes("""{"Type":"last","N":3}"""), Timeout());
        }

        Assert.True(result.StreamClosed);
        Assert.False(result.Duplicate);
        var meta = await stream.HeadAsync(Timeout());
        Assert.True(meta.StreamClosed);
        Assert.NotNull(result.NextOffset);
        Assert.Equal(meta.Offset, result.NextOffset);
        await using var r = await stream.StreamAsync(cancellationToken: Timeout());
        var events = await r.ReadAllJsonAsync<MyEvent>(Timeout());
        Assert.Equal([new MyEvent("a", 1), new MyEvent("b", 2), new MyEvent("last", 3)], events);
        Assert.True(r.StreamClosed);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Producer_CloseStreamAsync_without_data_just_closes(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json", "producer-close-bare");
        await using var producer = stream.CreateProducer("closer");
        producer.Append(new MyEvent("a", 1));

        var result = await producer.CloseStreamAsync(cancellationToken: Timeout());
        var again = await producer.CloseStreamAsync(cancellationToken: Timeout());

        Assert.True(result.StreamClosed);
        Assert.True(again.StreamClosed);
        Assert.Equal(result.NextOffset, again.NextOffset);
        var meta = await stream.HeadAsync(Timeout());
        Assert.True(meta.StreamClosed);
        Assert.Equal(meta.Offset, result.NextOffset);
        await using var r = await stream.StreamAsync(cancellationToken: Timeout());
        Assert.Equal([new MyEvent("a", 1)], await r.ReadAllJsonAsync<MyEvent>(Timeout()));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Create_reports_created_then_already_existed(string kind)
    {
        await using var client = NewClient(kind);
        var stream = client.GetStream(NewPath("create-result"));
        var options = new CreateStreamOptions { ContentType = "text/plain" };

        CreateStreamResult first = await stream.CreateAsync(options, Timeout());
        CreateStreamResult second = await stream.CreateAsync(options, Timeout());

        Assert.Equal(CreateStreamResult.Created, first);
        Assert.Equal(CreateStreamResult.AlreadyExisted, second);
        Assert.Equal(0, (int)CreateStreamResult.Created);
        Assert.Equal(1, (int)CreateStreamResult.AlreadyExisted);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Create_with_details_reports_the_tail_content_type_and_closure(string kind)
    {
        await using var client = NewClient(kind);
        var stream = client.GetStream(NewPath("create-details"));

        var details = await stream.CreateWithDetailsAsync(new CreateStreamOptions
        {
            ContentType = "text/plain",
            InitialData = "complete"u8.ToArray(),
            Closed = true,
        }, Timeout());

        Assert.Equal(CreateStreamResult.Created, details.Result);
        Assert.True(details.Created);
        Assert.True(details.StreamClosed);
        Assert.StartsWith("text/plain", details.ContentType, StringComparison.Ordinal);
        var meta = await stream.HeadAsync(Timeout());
        Assert.True(meta.StreamClosed);
        Assert.NotNull(details.NextOffset);
        Assert.Equal(meta.Offset, details.NextOffset);
        Assert.Equal("complete", await ReadTextAsync(stream));

        var open = client.GetStream(NewPath("create-details-open"));
        var openDetails = await open.CreateWithDetailsAsync(new CreateStreamOptions { ContentType = "application/json" }, Timeout());
        Assert.False(openDetails.StreamClosed);
        Assert.StartsWith("application/json", openDetails.ContentType, StringComparison.Ordinal);
        Assert.Equal((await open.HeadAsync(Timeout())).Offset, openDetails.NextOffset);
        var again = await open.CreateWithDetailsAsync(new CreateStreamOptions { ContentType = "application/json" }, Timeout());
        Assert.Equal(CreateStreamResult.AlreadyExisted, again.Result);
        Assert.False(again.Created);
        Assert.False(again.StreamClosed);
    }
}

/// <summary>The same results mapped from scripted responses (statuses and headers the servers choose).</summary>
public class CloseAndCreateWireTests
{
    private static DurableStreamClient Client(FakeHttpServer server) =>
        new(new DurableStreamClientOptions { BaseUrl = server.BaseUrl, MaxRetries = 0 });

    [Fact]
    public async Task Create_maps_201_to_Created_and_200_to_AlreadyExisted_with_the_headers()
    {
        var status = 201;
        await using var server = new FakeHttpServer(_ => status == 201
            ? FakeHttpServer.Response(201, "Created", "", "Content-Type: text/plain", "Stream-Next-Offset: 0_5")
            : FakeHttpServer.Response(200, "OK", "", "Content-Type: text/plain", "Stream-Next-Offset: 0_9", "Stream-Closed: true"));
        await using var client = Client(server);
        var stream = client.GetStream("/s");

        var created = await stream.CreateWithDetailsAsync(new CreateStreamOptions { ContentType = "text/plain" });
        Assert.Equal(new CreateStreamDetails(CreateStreamResult.Created, new Offset("0_5"), "text/plain", false), created);
        status = 200;
        var existed = await stream.CreateWithDetailsAsync(new CreateStreamOptions { ContentType = "text/plain" });
        Assert.Equal(new CreateStreamDetails(CreateStreamResult.AlreadyExisted, new Offset("0_9"), "text/plain", true), existed);
        Assert.Equal(CreateStreamResult.AlreadyExisted, await stream.CreateAsync(new CreateStreamOptions { ContentType = "text/plain" }));
        Assert.All(server.Requests, r => Assert.StartsWith("PUT /s ", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bare_close_sends_Stream_Closed_with_no_body_and_returns_the_final_offset()
    {
        await using var server = new FakeHttpServer(_ => FakeHttpServer.Response(204, "No Content", "", "Stream-Next-Offset: 7_7", "Stream-Closed: true"));
        await using var client = Client(server);
        var stream = client.GetStream("/s");
        stream.SetContentType("text/plain");

        var result = await stream.CloseAsync();

        Assert.Equal(new CloseResult(new Offset("7_7")), result);
        var request = Assert.Single(server.Requests);
        Assert.StartsWith("POST /s ", request, StringComparison.Ordinal);
        Assert.Equal(["true"], RequestHeadersTests.Values(request, "Stream-Closed"));
        var length = RequestHeadersTests.Values(request, "Content-Length");
        Assert.True(length.Count == 0 || length.SequenceEqual(["0"]), $"a bare close has no body, got Content-Length {string.Join(",", length)}");
    }
}
