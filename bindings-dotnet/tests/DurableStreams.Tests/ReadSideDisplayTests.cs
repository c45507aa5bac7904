using System.Diagnostics;
using System.Reflection;
using System.Text;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// ToString / DebuggerDisplay of the read-side types (responses, chunks, results, metadata,
/// offsets, checkpoints and their options) show their fields and never a secret: URLs without
/// user info or query values, data by size only.
/// </summary>
[Collection(ClientCollection.Name)]
public class ReadSideDisplayTests : ServerTest
{
    private const string Secret = "s3cr3t-value";

    public ReadSideDisplayTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Fact]
    public void Options_show_their_fields_without_secrets()
    {
        var stream = new StreamOptions { Checkpoint = new StreamCheckpoint(new Offset("0001_0002"), "c-9"), Live = LiveMode.Sse, MaxChunkBytes = 65536, Headers = new() { ["Authorization"] = $"Bearer {Secret}" } };
        AssertShows(stream, "StreamOptions { Offset = 0001_0002, Live = Sse, Cursor = c-9, MaxChunkBytes = 65536, Headers = [Authorization] }");
        AssertShows(new StreamOptions(), "StreamOptions { Offset = null, Live = Off, Cursor = null, MaxChunkBytes = null, Headers = null }");

        AssertShows(new AppendOptions { Seq = "0007", Close = true, ContentType = "text/plain" }, "AppendOptions { Seq = 0007, Close = True, ContentType = text/plain, Headers = null }");
        AssertShows(new CloseOptions { Data = [1, 2, 3], Headers = new() { ["X-Token"] = Secret } }, "CloseOptions { Data = 3 bytes, ContentType = null, Headers = [X-Token] }");

        var create = new CreateStreamOptions
        {
            ContentType = "application/json",
            Ttl = TimeSpan.FromMinutes(5),
            InitialData = Encoding.UTF8.GetBytes($"[\"{Secret}\"]"),
            Closed = true,
            ForkFrom = $"https://user:{Secret}@example.com/v1/stream/source?sig={Secret}",
            ForkOffset = new Offset("0001_0002"),
            ForkSubOffset = 3,
        };
        var text = AssertShows(create,
            $"CreateStreamOptions {{ ContentType = application/json, Ttl = 00:05:00, ExpiresAt = null, InitialData = {Secret.Length + 4} bytes, Closed = True, ForkFrom = https://example.com/v1/stream/source?sig=<redacted>, ForkOffset = 0001_0002, ForkSubOffset = 3, Headers = null }}");
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        Assert.Contains("ExpiresAt = 2030-01-02T03:04:05.0000000+00:00", new CreateStreamOptions { ExpiresAt = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero) }.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Offsets_and_checkpoints_keep_their_saved_form_and_name_their_fields_in_the_debugger()
    {
        var offset = new Offset("0001_0002");
        Assert.Equal("0001_0002", offset.ToString());
        Assert.Equal("Offset { Value = 0001_0002 }", DebuggerText(offset));
        Assert.Equal("Offset { Value = -1 (Beginning) }", DebuggerText(Offset.Beginning));
        Assert.Equal("Offset { Value = now (Now) }", DebuggerText(Offset.Now));

        var checkpoint = new StreamCheckpoint(offset, "c-9");
        Assert.Equal("0001_0002,c-9", checkpoint.ToString());
        Assert.Equal("StreamCheckpoint { Offset = 0001_0002, Cursor = c-9, SkipBytes = 0, SkipMessages = 0 }", DebuggerText(checkpoint));
        Assert.Equal("StreamCheckpoint { Offset = -1, Cursor = null, SkipBytes = 0, SkipMessages = 0 }", DebuggerText(new StreamCheckpoint(Offset.Beginning)));
    }

    [Fact]
    public void Chunks_show_their_fields_and_their_data_by_size_only()
    {
        var checkpoint = new StreamCheckpoint(new Offset("0001_0002"), "c-9");
        var data = Encoding.UTF8.GetBytes($"[\"{Secret}\"]");
        var bytes = new ByteChunk(data, checkpoint, UpToDate: true) { Messages = [data.AsMemory(1, data.Length - 2)] };
        var text = AssertShows(bytes, $"ByteChunk {{ Bytes = {data.Length}, Messages = 1, Offset = 0001_0002, Cursor = c-9, UpToDate = True, StreamClosed = False, IsPartial = False }}");
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        AssertShows(new ByteChunk(data, checkpoint, false) { StreamClosed = true, IsPartial = true }, $"ByteChunk {{ Bytes = {data.Length}, Messages = null, Offset = 0001_0002, Cursor = c-9, UpToDate = False, StreamClosed = True, IsPartial = True }}");

        var textChunk = new TextChunk(Secret, checkpoint, UpToDate: false) { StreamClosed = true };
        Assert.DoesNotContain(Secret, AssertShows(textChunk, $"TextChunk {{ Length = {Secret.Length}, Offset = 0001_0002, Cursor = c-9, UpToDate = False, StreamClosed = True }}"), StringComparison.Ordinal);

        var batch = new JsonBatch<MyEvent>([new MyEvent(Secret, 1), new MyEvent("b", 2)], new StreamCheckpoint(new Offset("0001_0002")), UpToDate: true) { StreamClosed = true };
        Assert.DoesNotContain(Secret, AssertShows(batch, "JsonBatch<MyEvent> { Count = 2, Offset = 0001_0002, Cursor = null, UpToDate = True, StreamClosed = True }"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Results_metadata_and_responses_show_their_fields_without_secrets(string kind)
    {
        await using var client = NewClient(kind);
        var path = NewPath("display") + $"?sig={Secret}";
        var stream = client.GetStream(path);
        var created = await stream.CreateWithDetailsAsync(new CreateStreamOptions { ContentType = "text/plain", Ttl = TimeSpan.FromHours(1) });
        var createdText = AssertShows(created, null);
        Assert.StartsWith("CreateStreamDetails { Result = Created, NextOffset = ", createdText, StringComparison.Ordinal);
        Assert.EndsWith(", ContentType = text/plain, StreamClosed = False }", createdText, StringComparison.Ordinal);

        var appended = await stream.AppendAsync($"hello {Secret}");
        AssertShows(appended, $"AppendResult {{ NextOffset = {appended.Offset.Value}, Duplicate = False, StreamClosed = False }}");

        var metadata = await stream.HeadAsync();
        var metadataText = AssertShows(metadata, null);
        Assert.StartsWith($"StreamMetadata {{ Exists = True, Offset = {appended.Offset.Value}, ContentType = text/plain, StreamClosed = False, Ttl = ", metadataText, StringComparison.Ordinal);
        Assert.Contains("Ttl = 01:00:00", metadataText, StringComparison.Ordinal);

        await using var response = await stream.StreamAsync(new StreamOptions { Live = LiveMode.Off });
        var before = AssertShows(response, null);
        Assert.StartsWith("StreamResponse { Url = http", before, StringComparison.Ordinal);
        Assert.Contains("?sig=<redacted>", before, StringComparison.Ordinal);
        Assert.Contains("Live = Off, StartOffset = -1", before, StringComparison.Ordinal);
        Assert.Contains("ContentType = text/plain", before, StringComparison.Ordinal);
        Assert.Contains("Consumer = null, State = not read yet", before, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, before, StringComparison.Ordinal);

        await foreach (var chunk in response.ReadBytesAsync(Timeout()))
        {
            var chunkText = AssertShows(chunk, null);
            Assert.StartsWith($"ByteChunk {{ Bytes = {chunk.Data.Length}, Messages = null, Offset = {appended.Offset.Value}", chunkText, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, chunkText, StringComparison.Ordinal);
        }
        var after = response.ToString();
        Assert.Contains($"Offset = {appended.Offset.Value}", after, StringComparison.Ordinal);
        Assert.Contains("UpToDate = True, StreamClosed = False", after, StringComparison.Ordinal);
        Assert.Contains("Consumer = ReadBytesAsync, State = ended", after, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, after, StringComparison.Ordinal);
        await response.DisposeAsync();
        Assert.EndsWith("State = disposed }", response.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_response_test_double_displays_itself()
    {
        Assert.Equal("StreamResponse (test double)", new DoubleResponse().ToString());
    }

    private sealed class DoubleResponse : StreamResponse
    {
    }

    /// <summary>Checks ToString (against <paramref name="expected"/> when given) and that the debugger shows the same text.</summary>
    private static string AssertShows(object value, string? expected)
    {
        var text = value.ToString()!;
        if (expected is not null)
        {
            Assert.Equal(expected, text);
        }
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        Assert.Equal(text, DebuggerText(value));
        return text;
    }

    /// <summary>Evaluates the type's [DebuggerDisplay] as a debugger would (the forms used: "{Member,nq}" and "{ToString(),nq}").</summary>
    private static string DebuggerText(object value)
    {
        var attribute = value.GetType().GetCustomAttribute<DebuggerDisplayAttribute>(inherit: true);
        Assert.NotNull(attribute);
        var expression = attribute.Value.Trim('{', '}');
        expression = expression.EndsWith(",nq", StringComparison.Ordinal) ? expression[..^3] : expression;
        if (expression == "ToString()")
        {
            return value.ToString()!;
        }
        for (var type = value.GetType(); type is not null; type = type.BaseType)
        {
            if (type.GetProperty(expression, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic) is { } property)
            {
                return (string)property.GetValue(value)!;
            }
        }
        throw new InvalidOperationException($"no member {expression}");
    }
}
