using System.Buffers.Binary;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// Large responses arrive in bounded pieces by default, and every piece's checkpoint is an exact
/// resume point (the response's offset plus the bytes of it already delivered).
/// </summary>
[Collection(ClientCollection.Name)]
public class ResumeInsideResponseTests : ServerTest
{
    public ResumeInsideResponseTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    /// <summary>300 KiB in which every 4-byte group holds its own index, so a duplicate or a gap shows.</summary>
    private static byte[] Pattern(int bytes)
    {
        var data = new byte[bytes];
        for (var i = 0; i < bytes / 4; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(i * 4), i);
        }
        return data;
    }

    private async Task<(DurableStream Stream, byte[] Data)> PatternStreamAsync(DurableStreamClient client, string name)
    {
        var data = Pattern(300 * 1024);
        var stream = await client.CreateStreamAsync(NewPath(name), new CreateStreamOptions { ContentType = "application/octet-stream" });
        // Three appends: one catch-up response on both servers, split into pieces by the client.
        for (var part = 0; part < 3; part++)
        {
            await stream.AppendAsync(data.AsMemory(part * 100 * 1024, 100 * 1024));
        }
        return (stream, data);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_large_response_arrives_in_bounded_pieces_by_default(string kind)
    {
        await using var client = NewClient(kind);
        var (stream, data) = await PatternStreamAsync(client, "pieces");
        var chunks = await ReadAllChunksAsync(stream, new StreamOptions());
        Assert.True(chunks.Count >= 5, $"{chunks.Count} chunks");
        Assert.All(chunks, c => Assert.True(c.Data.Length <= StreamOptions.DefaultMaxChunkBytes, $"{c.Data.Length} bytes"));
        Assert.All(chunks[..^1], c => Assert.True(c.IsPartial && !c.UpToDate));
        Assert.True(chunks[^1].UpToDate);
        Assert.Equal(data, chunks.SelectMany(c => c.Data.ToArray()).ToArray());

        // int.MaxValue asks for whole responses again.
        var whole = await ReadAllChunksAsync(stream, new StreamOptions { MaxChunkBytes = int.MaxValue });
        Assert.DoesNotContain(whole, c => c.IsPartial);
        Assert.Equal(data, whole.SelectMany(c => c.Data.ToArray()).ToArray());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Resuming_from_any_pieces_checkpoint_continues_right_after_it(string kind)
    {
        await using var client = NewClient(kind);
        var (stream, data) = await PatternStreamAsync(client, "resume");
        var chunks = await ReadAllChunksAsync(stream, new StreamOptions { MaxChunkBytes = 50_000 });
        Assert.Contains(chunks, c => c.Checkpoint.SkipBytes > 0);
        var delivered = 0;
        foreach (var chunk in chunks)
        {
            delivered += chunk.Data.Length;
            // Through the saved string form, as an application that restarts would.
            var saved = StreamCheckpoint.Parse(chunk.Checkpoint.ToString());
            Assert.Equal(chunk.Checkpoint, saved);
            var rest = await ReadAllChunksAsync(stream, new StreamOptions { Checkpoint = saved, MaxChunkBytes = 50_000 });
            Assert.Equal(data.AsSpan(delivered).ToArray(), rest.SelectMany(c => c.Data.ToArray()).ToArray());
            Assert.True(rest[^1].UpToDate);
        }
        Assert.Equal(data.Length, delivered);
    }

    [Fact]
    public void Checkpoints_inside_a_response_keep_their_skip_in_the_saved_form()
    {
        var inside = new StreamCheckpoint(new Offset("0001_0002"), "c-9") { SkipBytes = 65536 };
        Assert.Equal("0001_0002&skip=65536,c-9", inside.ToString());
        Assert.Equal(inside, StreamCheckpoint.Parse("0001_0002&skip=65536,c-9"));
        Assert.Equal("0001_0002&skip=7", new StreamCheckpoint(new Offset("0001_0002")) { SkipBytes = 7 }.ToString());
        Assert.Equal(0, StreamCheckpoint.Parse("0001_0002,c-9").SkipBytes);
        Assert.False(StreamCheckpoint.TryParse("0001_0002&skip=-1", out _));
        Assert.False(StreamCheckpoint.TryParse("0001_0002&skip=x", out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamCheckpoint(Offset.Beginning) { SkipBytes = -1 });
        Assert.NotEqual(inside, inside with { SkipBytes = 0 });

        // The skip belongs to the checkpoint's offset: setting another offset drops it.
        var options = new StreamOptions { Checkpoint = inside };
        Assert.Equal(65536, options.Checkpoint!.Value.SkipBytes);
        options.Offset = new Offset("0001_0003");
        Assert.Equal(0, options.Checkpoint!.Value.SkipBytes);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_skip_past_the_data_fails_clearly(string kind)
    {
        await using var client = NewClient(kind);
        var (stream, data) = await PatternStreamAsync(client, "past");
        var beyond = new StreamCheckpoint(Offset.Beginning) { SkipBytes = data.Length + 1 };
        var e = await Assert.ThrowsAsync<DurableStreamException>(() => ReadAllChunksAsync(stream, new StreamOptions { Checkpoint = beyond }));
        Assert.Equal(DurableStreamErrorCode.InvalidOffset, e.Code);
        Assert.Contains("past the data", e.Message, StringComparison.Ordinal);
    }
}
