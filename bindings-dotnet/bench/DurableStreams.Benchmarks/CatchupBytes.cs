using System.Diagnostics;
using System.Globalization;

namespace DurableStreams.Benchmarks;

/// <summary>
/// Catch-up read of a large byte stream, as bench/src/bin/catchup-bytes.rs: <c>--mib</c> MiB of a
/// known pattern (byte p = p mod 251) written untimed in 1 MiB producer messages by a child
/// process (so that the peak RSS measured is the read's alone), then read from
/// the beginning in catch-up mode (no live). "dotnet": <see cref="StreamResponse.ReadBytesAsync"/>
/// with the default options, as a user calls it (<c>--max-chunk-bytes</c> sets
/// <see cref="StreamOptions.MaxChunkBytes"/> instead): Electric answers the whole stream with one
/// response, and the default bounded pieces (64 KiB, below the large-object heap) keep memory flat
/// and the copy cheap (measured 1,375 MB/s vs 963 whole and 861 with 1 MiB pieces); with
/// <c>--api copy-to</c>, <see cref="StreamResponse.CopyToAsync"/> into a stream that checks and
/// drops each write (no managed copy);
/// "dotnet-httpclient": a GET loop following Stream-Next-Offset until Stream-Up-To-Date, each
/// body read into one reused 1 MiB buffer. The pattern is checked at both ends of every chunk
/// (every buffer read for the baseline) and the total must be exact. A warm-up read, then the
/// median of <c>--runs</c> reads.
/// </summary>
internal static class CatchupBytes
{
    private const string Bench = "catchup-bytes";
    private const int Mib = 1024 * 1024;
    private const int Period = 251;

    private readonly record struct Read(long Bytes, long Chunks, Cost Cost);

    public static async Task RunAsync(string[] args)
    {
        var flags = Flags.Parse(Bench, "catch-up read of a large byte stream", args,
            ("mib", "N: stream size in MiB (default 1024)"),
            ("runs", "R: measured full reads; the median is reported (default 3)"),
            ("max-chunk-bytes", "N: StreamOptions.MaxChunkBytes of the dotnet read (default: not set, the package's default)"),
            ("write-to", "URL: only write the pattern stream there and exit (the benchmark writes through such a child process, so that the reader's peak RSS is the read's, not the write's leftovers)"),
            ("api", "read-bytes (default: await foreach over ReadBytesAsync) or copy-to (CopyToAsync into a checking stream)"));
        var mib = (int)flags.Int("mib", 1024);
        int? maxChunkBytes = flags.Str("max-chunk-bytes") is null ? null : (int)flags.Int("max-chunk-bytes", 0);
        var runs = (int)flags.Int("runs", 3);
        var copyTo = (flags.Str("api") ?? "read-bytes") switch
        {
            "read-bytes" => false,
            "copy-to" => true,
            var other => throw new BenchFailure($"{Bench}: --api must be read-bytes or copy-to, not {other}"),
        };
        var total = (long)mib * Mib;
        if (flags.Str("write-to") is { } writeTo)
        {
            await using var writer = new DurableStreamClient(new DurableStreamClientOptions());
            Console.WriteLine(Stats.F(await WritePatternAsync(writer, writeTo, mib).ConfigureAwait(false), 3));
            return;
        }
        var results = new Results(flags);
        using var server = BenchServer.Start(flags);
        await using var client = new DurableStreamClient(new DurableStreamClientOptions());
        using var http = PlainHttp.NewClient();
        var url = server.StreamUrl("catchup-bytes");
        var writeS = await WriteInChildProcessAsync(url, mib).ConfigureAwait(false);

        var layers = new List<(string Layer, Func<Task<Read>> Read)>();
        if (flags.Runs("dotnet"))
        {
            layers.Add((Layer.Ours, () => copyTo ? OursCopyToAsync(client, url, total, maxChunkBytes) : OursAsync(client, url, total, maxChunkBytes)));
        }
        if (flags.Runs("httpclient"))
        {
            var buffer = new byte[Mib];
            layers.Add((Layer.HttpClient, () => PlainAsync(http, url, total, buffer)));
        }
        foreach (var (layer, read) in layers)
        {
            GC.Collect();
            Meter.ResetPeakRss(); // the peak of this layer's reads, not of the write before them
            var startRss = Meter.RssMib(); // what the process holds before reading (the runtime, the write's leftovers)
            await read().ConfigureAwait(false); // warm-up
            var reads = new List<Read>();
            for (var r = 0; r < runs; r++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                reads.Add(await read().ConfigureAwait(false));
            }
            var rates = reads.Select(r => r.Bytes / 1e6 / r.Cost.Seconds).ToList();
            var (mid, index) = Stats.Median(rates);
            var chosen = reads[index];
            var cpuUsPerMb = chosen.Cost.CpuSeconds * 1e6 / (chosen.Bytes / 1e6);
            var allocPerMb = chosen.Cost.AllocatedBytes / (chosen.Bytes / 1e6);
            var peak = Meter.PeakRssMib();
            var line = $"{Bench} [{layer}] {mib} MiB in {Stats.Thousands(chosen.Chunks)} chunks: {Stats.F(mid, 0)} MB/s, {Stats.F(cpuUsPerMb, 0)} us CPU/MB, "
                + $"{Stats.F(allocPerMb, 0)} B allocated/MB, {Stats.F(chosen.Cost.Seconds, 2)} s (median of {runs}; range {Stats.F(rates.Min(), 0)}-{Stats.F(rates.Max(), 0)} MB/s; "
                + $"peak RSS {Stats.F(peak, 0)} MiB from {Stats.F(startRss, 0)} MiB before reading; written in {Stats.F(writeS)} s untimed)";
            var result = copyTo && layer == Layer.Ours
                ? Results.New(Bench, $"{mib}MiB-copy-to", $"catch-up read {mib} MiB byte stream, CopyToAsync", layer)
                : Results.New(Bench, $"{mib}MiB", $"catch-up read {mib} MiB byte stream", layer);
            result["bytes"] = total;
            result["chunks"] = chosen.Chunks;
            result["runs"] = runs;
            result["elapsed_s"] = chosen.Cost.Seconds;
            result["mb_per_s"] = mid;
            result["mb_per_s_runs"] = Stats.Array(rates);
            result["cpu_us_per_mb"] = cpuUsPerMb;
            result["allocated_bytes_per_mb"] = allocPerMb;
            result["allocated_bytes"] = chosen.Cost.AllocatedBytes;
            result["gen0_collections"] = chosen.Cost.Collections;
            result["peak_rss_mib"] = peak;
            result["start_rss_mib"] = startRss;
            result["write_s"] = writeS;
            results.Add(line, result);
        }
        results.Write();
    }

    /// <summary>Writes <paramref name="mib"/> 1 MiB messages of the pattern through a producer; returns the seconds taken.</summary>
    private static async Task<double> WritePatternAsync(DurableStreamClient client, string url, int mib)
    {
        var stream = await client.CreateStreamAsync(url, new CreateStreamOptions { ContentType = "application/octet-stream" }).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        var pattern = new byte[Mib + Period];
        for (var i = 0; i < pattern.Length; i++)
        {
            pattern[i] = (byte)(i % Period);
        }
        await using var producer = stream.CreateProducer("bench-writer");
        for (var i = 0; i < mib; i++)
        {
            var start = (int)((long)i * Mib % Period);
            await producer.AppendAsync(pattern.AsMemory(start, Mib)).ConfigureAwait(false);
        }
        await producer.FlushAsync().ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>Runs this program with <c>--write-to</c>; returns the seconds the child took to write.</summary>
    private static async Task<double> WriteInChildProcessAsync(string url, int mib)
    {
        var program = Environment.ProcessPath ?? throw new BenchFailure($"{Bench}: cannot find this program's path to start the writer");
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { Bench, "--write-to", url, "--mib", mib.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }
        using var child = Process.Start(start) ?? throw new BenchFailure($"{Bench}: could not start the writer {program}");
        var output = await child.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        await child.WaitForExitAsync().ConfigureAwait(false);
        if (child.ExitCode != 0 || !double.TryParse(output.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            throw new BenchFailure($"{Bench}: the writer process failed (exit code {child.ExitCode}, output \"{output.Trim()}\")");
        }
        return seconds;
    }

    /// <summary>Checks a piece of the stream starting at stream position <paramref name="at"/>: its first and last byte.</summary>
    private static void CheckPiece(ReadOnlySpan<byte> data, long at)
    {
        if (data.IsEmpty)
        {
            return;
        }
        var end = at + data.Length - 1;
        if (data[0] != at % Period || data[^1] != end % Period)
        {
            throw new BenchFailure($"{Bench}: the piece at byte {at} ({data.Length} bytes) does not hold the written pattern");
        }
    }

    private static async Task<Read> OursAsync(DurableStreamClient client, string url, long total, int? maxChunkBytes)
    {
        var probe = Cost.Start();
        var stream = client.GetStream(url);
        long bytes = 0, chunks = 0;
        await using (var response = await stream.StreamAsync(new StreamOptions { Offset = Offset.Beginning, Live = LiveMode.Off, MaxChunkBytes = maxChunkBytes }).ConfigureAwait(false))
        {
            await foreach (var chunk in response.ReadBytesAsync().ConfigureAwait(false))
            {
                CheckPiece(chunk.Data.Span, bytes);
                bytes += chunk.Data.Length;
                chunks++;
                if (chunk.UpToDate || chunk.StreamClosed)
                {
                    break;
                }
            }
        }
        var cost = probe.Stop();
        if (bytes != total)
        {
            throw new BenchFailure($"{Bench} [{Layer.Ours}]: read {bytes} bytes, expected {total}");
        }
        return new Read(bytes, chunks, cost);
    }

    private static async Task<Read> OursCopyToAsync(DurableStreamClient client, string url, long total, int? maxChunkBytes)
    {
        var probe = Cost.Start();
        var stream = client.GetStream(url);
        var destination = new PatternCheckingStream();
        long bytes;
        await using (var response = await stream.StreamAsync(new StreamOptions { Offset = Offset.Beginning, Live = LiveMode.Off, MaxChunkBytes = maxChunkBytes }).ConfigureAwait(false))
        {
            bytes = await response.CopyToAsync(destination).ConfigureAwait(false);
        }
        var cost = probe.Stop();
        if (bytes != total || destination.Position != total)
        {
            throw new BenchFailure($"{Bench} [{Layer.Ours}, copy-to]: copied {bytes} bytes ({destination.Position} written), expected {total}");
        }
        return new Read(bytes, destination.Writes, cost);
    }

    /// <summary>A destination that checks each write against the pattern and keeps nothing.</summary>
    private sealed class PatternCheckingStream : Stream
    {
        private long _position;

        public long Writes { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _position;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            CheckPiece(buffer, _position);
            _position += buffer.Length;
            Writes++;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private static async Task<Read> PlainAsync(HttpClient http, string url, long total, byte[] buffer)
    {
        var probe = Cost.Start();
        long bytes = 0;
        var chunks = await PlainHttp.CatchUpAsync(http, url, Bench, async response =>
        {
            await using var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
            int read;
            while ((read = await body.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                CheckPiece(buffer.AsSpan(0, read), bytes);
                bytes += read;
            }
        }).ConfigureAwait(false);
        var cost = probe.Stop();
        if (bytes != total)
        {
            throw new BenchFailure($"{Bench} [{Layer.HttpClient}]: read {bytes} bytes, expected {total}");
        }
        return new Read(bytes, chunks, cost);
    }
}
