using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary><see cref="StreamResponse.CopyToAsync"/>: bytes straight from the native buffers into a destination stream.</summary>
[Collection(ReadCollection.Name)]
public class CopyToTests : ServerTest
{
    public CopyToTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    private static async Task<(DurableStream Stream, byte[] Payload)> StreamWithPayloadAsync(DurableStreamClient client, int kib)
    {
        var stream = await NewStreamAsync(client, "application/octet-stream");
        var payload = new byte[kib * 1024];
        new Random(kib).NextBytes(payload);
        for (var at = 0; at < payload.Length; at += 100 * 1024)
        {
            await stream.AppendAsync(payload.AsMemory(at, Math.Min(100 * 1024, payload.Length - at)), cancellationToken: Timeout());
        }
        return (stream, payload);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_catch_up_copies_every_byte_in_order_and_counts_them(string kind)
    {
        await using var client = NewClient(kind);
        var (stream, payload) = await StreamWithPayloadAsync(client, 700);
        foreach (var maxChunkBytes in new int?[] { null, 4096, 1_000_000 })
        {
            await using var response = await stream.StreamAsync(new StreamOptions { MaxChunkBytes = maxChunkBytes }, Timeout());
            using var destination = new MemoryStream();
            var copied = await response.CopyToAsync(destination, Timeout());
            Assert.Equal(payload.Length, copied);
            Assert.Equal(payload, destination.ToArray());
            Assert.True(response.UpToDate);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_live_copy_follows_new_appends_until_the_stream_is_closed(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await stream.AppendAsync("first ", cancellationToken: Timeout());
        await using var response = await stream.StreamAsync(new StreamOptions { Live = LiveMode.LongPoll }, Timeout());
        var destination = new SignallingStream();
        var copy = response.CopyToAsync(destination, Timeout(30));
        await destination.FirstWrite.WaitAsync(Timeout());
        await stream.AppendAsync("second", cancellationToken: Timeout());
        await stream.CloseAsync(cancellationToken: Timeout());
        Assert.Equal("first second".Length, await copy);
        Assert.Equal("first second", System.Text.Encoding.UTF8.GetString(destination.ToArray()));
        Assert.True(response.StreamClosed);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_bytes_stay_valid_while_a_write_is_pending_even_if_the_response_is_disposed(string kind)
    {
        await using var client = NewClient(kind);
        var (stream, payload) = await StreamWithPayloadAsync(client, 300);
        var response = await stream.StreamAsync(new StreamOptions { MaxChunkBytes = 64 * 1024 }, Timeout());
        var destination = new StallingStream();
        var copy = response.CopyToAsync(destination, Timeout());
        await destination.Stalled.WaitAsync(Timeout());
        await response.DisposeAsync(); // frees the chunk only once the pending write lets go of it
        destination.Resume();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => copy);
        Assert.Equal(payload.AsSpan(0, destination.Received.Length).ToArray(), destination.Received);
        Assert.True(destination.Received.Length > 0);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Bad_destinations_and_a_second_consumer_fail_clearly(string kind)
    {
        await using var client = NewClient(kind);
        var (stream, _) = await StreamWithPayloadAsync(client, 10);
        await using (var response = await stream.StreamAsync(cancellationToken: Timeout()))
        {
            await Assert.ThrowsAsync<ArgumentNullException>(() => response.CopyToAsync(null!, Timeout()));
            await response.CopyToAsync(Stream.Null, Timeout());
            var second = await Assert.ThrowsAsync<InvalidOperationException>(() => response.CopyToAsync(Stream.Null, Timeout()));
            Assert.Contains("CopyToAsync", second.Message);
        }
        await using (var response = await stream.StreamAsync(cancellationToken: Timeout()))
        {
            var failed = await Assert.ThrowsAsync<IOException>(() => response.CopyToAsync(new FailingStream(), Timeout()));
            Assert.Equal("disk full", failed.Message);
        }
        await using (var response = await stream.StreamAsync(cancellationToken: Timeout()))
        {
            await Assert.ThrowsAsync<NotSupportedException>(() => response.CopyToAsync(new MemoryStream(new byte[16], writable: false), Timeout()));
        }
    }

    /// <summary>A memory stream that signals its first write.</summary>
    private sealed class SignallingStream : MemoryStream
    {
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task FirstWrite => _first.Task;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await base.WriteAsync(buffer, cancellationToken);
            _first.TrySetResult();
        }
    }

    /// <summary>Stalls its first write until resumed, then copies what that write was given.</summary>
    private sealed class StallingStream : Stream
    {
        private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Stalled => _stalled.Task;

        public byte[] Received { get; private set; } = [];

        public void Resume() => _resume.TrySetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _stalled.TrySetResult();
            await _resume.Task.WaitAsync(cancellationToken);
            Received = [.. Received, .. buffer.Span];
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A destination whose writes fail.</summary>
    private sealed class FailingStream : MemoryStream
    {
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException(new IOException("disk full"));
    }
}
