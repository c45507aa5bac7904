using System.Diagnostics;
using System.Text.Json.Serialization;

namespace DurableStreams.Benchmarks;

/// <summary>
/// The .NET layer's endurance run, the counterpart of bench/src/bin/soak.rs for the package: an
/// <see cref="IdempotentProducer"/> appends JSON messages at <c>--rate</c> per second while a live
/// SSE reader (<see cref="StreamResponse.ReadJsonBatchesAsync{T}(System.Text.Json.Serialization.Metadata.JsonTypeInfo{T}, CancellationToken)"/>)
/// reads them; every <c>--restart-secs</c> the reader is disposed and a new one resumes from the
/// saved checkpoint, as an application restarting would. Every message must be read exactly once
/// in order. Every <c>--sample-secs</c> it samples RSS, the managed heap (after a full
/// collection), GC counts, threads and file descriptors, and reports the slopes after the
/// warm-up against <c>--max-slope</c> MiB/min (FLAT or GROWING); it fails when messages are lost
/// or repeated. With <c>--faulty-posts P</c> the producer writes through the harness's
/// fault-injecting proxy, which fails P % of its POSTs (503 or a dropped connection, before or
/// after the server stored the batch); the reader reads directly.
/// </summary>
internal static class Soak
{
    private const string Bench = "soak";

    public static async Task RunAsync(string[] args)
    {
        var flags = Flags.Parse(Bench, "producer + live SSE reader over time: exactly-once and memory", args,
            ("seconds", "N: length of the run (default 60)"),
            ("rate", "N: messages appended per second (default 200)"),
            ("sample-secs", "N: sampling interval (default 5)"),
            ("restart-secs", "N: the reader resumes from its checkpoint this often (default 20)"),
            ("warmup-secs", "N: samples before this are left out of the slopes (default seconds/2)"),
            ("max-slope", "MIB: growth per minute allowed after warm-up, RSS and managed heap (default 0.1)"),
            ("faulty-posts", "P: the producer writes through a proxy failing P % of its POSTs (default 0: directly)"));
        var seconds = flags.Int("seconds", 60);
        var rate = flags.Int("rate", 200);
        var sampleEvery = TimeSpan.FromSeconds(flags.Int("sample-secs", 5));
        var restartEvery = TimeSpan.FromSeconds(flags.Int("restart-secs", 20));
        var warmup = flags.Int("warmup-secs", Math.Max(1, seconds / 2));
        var maxSlope = double.Parse(flags.Str("max-slope") ?? "0.1", System.Globalization.CultureInfo.InvariantCulture);
        var results = new Results(flags);
        var faultyPosts = double.Parse(flags.Str("faulty-posts") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        using var server = BenchServer.Start(flags, faultyPosts);
        await using var client = new DurableStreamClient(new DurableStreamClientOptions());
        var url = server.StreamUrl("soak");
        var stream = await client.CreateStreamAsync(url, new CreateStreamOptions { ContentType = "application/json" }).ConfigureAwait(false);
        var producerStream = server.FaultyPrefix is { } faulty ? client.GetStream($"{faulty}/soak") : stream;
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Bench}: {seconds} s, {rate} msg/s, reader restarts every {restartEvery.TotalSeconds} s, sample every {sampleEvery.TotalSeconds} s, {faultyPosts} % of the producer's POSTs failed"));

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        long produced = 0, read = 0, duplicates = 0, missing = 0, restarts = 0;
        var started = Stopwatch.GetTimestamp();
        var producerTask = Task.Run(async () =>
        {
            await using var producer = producerStream.CreateProducer("soak", new IdempotentProducerOptions { AutoClaim = true });
            var tick = TimeSpan.FromSeconds(1.0 / rate);
            while (!stop.IsCancellationRequested)
            {
                var due = Stopwatch.GetElapsedTime(started);
                var target = (long)(due.TotalSeconds * rate);
                while (produced < target)
                {
                    await producer.AppendAsync(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new SoakMessage { Seq = produced, Pad = "soak-payload-0123456789abcdef" }, SoakJson.Default.SoakMessage)).ConfigureAwait(false);
                    produced++;
                }
                await Task.Delay(tick).ConfigureAwait(false);
            }
            await producer.FlushAsync().ConfigureAwait(false);
        });
        var readerTask = Task.Run(async () =>
        {
            StreamCheckpoint checkpoint = Offset.Beginning;
            // Until the producer is done and everything it wrote was read.
            while (!stop.IsCancellationRequested || !producerTask.IsCompleted || Interlocked.Read(ref read) < Interlocked.Read(ref produced))
            {
                using var session = new CancellationTokenSource(restartEvery);
                try
                {
                    await using var response = await stream.StreamAsync(new StreamOptions { Checkpoint = checkpoint, Live = LiveMode.Sse }, session.Token).ConfigureAwait(false);
                    await foreach (var batch in response.ReadJsonBatchesAsync(SoakJson.Default.SoakMessage, session.Token).ConfigureAwait(false))
                    {
                        foreach (var message in batch.Items)
                        {
                            var seq = message?.Seq ?? -1;
                            if (seq < read)
                            {
                                duplicates++;
                            }
                            else
                            {
                                missing += seq - read;
                                read = seq + 1;
                            }
                        }
                        checkpoint = batch.Checkpoint;
                        if (stop.IsCancellationRequested && producerTask.IsCompleted && read >= Interlocked.Read(ref produced))
                        {
                            return;
                        }
                    }
                }
                catch (OperationCanceledException) when (session.IsCancellationRequested)
                {
                    // A planned restart: resume from the checkpoint.
                }
                restarts++;
            }
        });

        var samples = new List<(double T, double RssMib, double HeapMib, int Gen2, int Threads, int Fds, long Produced, long Read)>();
        while (!stop.IsCancellationRequested)
        {
            var t = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var heap = GC.GetTotalMemory(forceFullCollection: true) / 1048576.0;
            var sample = (t, Meter.RssMib(), heap, GC.CollectionCount(2), Process.GetCurrentProcess().Threads.Count, Directory.GetFiles("/proc/self/fd").Length, Interlocked.Read(ref produced), Interlocked.Read(ref read));
            samples.Add(sample);
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Bench}: t={t:F0}s rss={sample.Item2:F2} MiB heap={heap:F2} MiB gen2={sample.Item4} threads={sample.Item5} fds={sample.Item6} produced={sample.Item7} read={sample.Item8}"));
            try
            {
                await Task.Delay(sampleEvery, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await producerTask.ConfigureAwait(false);
        if (!readerTask.Wait(TimeSpan.FromSeconds(60)))
        {
            throw new BenchFailure($"{Bench}: the reader did not catch up with the {Interlocked.Read(ref produced)} messages produced within 60 s (read {Interlocked.Read(ref read)})");
        }
        await readerTask.ConfigureAwait(false);

        var after = samples.Where(s => s.T >= warmup).ToList();
        var rssSlope = Stats.SlopePerMinute(after.Select(s => (s.T, s.RssMib)).ToList());
        var heapSlope = Stats.SlopePerMinute(after.Select(s => (s.T, s.HeapMib)).ToList());
        var exact = duplicates == 0 && missing == 0 && read == produced;
        var bounded = rssSlope <= maxSlope && heapSlope <= maxSlope;
        var line = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{Bench} [{Layer.Ours}] {seconds} s: {produced} produced, {read} read in order ({duplicates} duplicates, {missing} missing, {restarts} reader restarts): exactly-once {(exact ? "PASS" : "FAIL")}; "
            + $"slopes after {warmup} s: RSS {rssSlope:+0.000;-0.000;+0.000} MiB/min, managed heap {heapSlope:+0.000;-0.000;+0.000} MiB/min (limit {maxSlope}); RSS {samples[0].RssMib:F1} -> {samples[^1].RssMib:F1} MiB, heap {samples[0].HeapMib:F1} -> {samples[^1].HeapMib:F1} MiB: {(bounded ? "FLAT" : "GROWING")}");
        var result = Results.New(Bench, $"{seconds}s", $"soak {seconds} s", Layer.Ours);
        result["produced"] = produced;
        result["read"] = read;
        result["duplicates"] = duplicates;
        result["missing"] = missing;
        result["reader_restarts"] = restarts;
        result["faulty_posts_percent"] = faultyPosts;
        result["rss_slope_mib_per_min"] = rssSlope;
        result["heap_slope_mib_per_min"] = heapSlope;
        result["samples"] = Stats.Array(samples.Select(s => s.RssMib).ToList());
        results.Add(line, result);
        results.Write();
        if (!exact)
        {
            // A memory slope is a finding to report (short runs still warm up); lost or repeated
            // messages are a failure.
            throw new BenchFailure($"{Bench}: messages lost or repeated");
        }
    }
}

/// <summary>One soak message.</summary>
internal sealed class SoakMessage
{
    [JsonPropertyName("seq")]
    public long Seq { get; set; }

    [JsonPropertyName("pad")]
    public string Pad { get; set; } = "";
}

/// <summary>Source-generated metadata for the soak's messages.</summary>
[JsonSerializable(typeof(SoakMessage))]
internal sealed partial class SoakJson : JsonSerializerContext;
