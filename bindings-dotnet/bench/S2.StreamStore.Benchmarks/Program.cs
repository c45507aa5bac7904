using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using S2.StreamStore;

namespace S2.StreamStore.Benchmarks;

/// <summary>
/// The S2 workloads of bench/s2/README.md through the S2.StreamStore package: a producer fed
/// one record per call on the span path (<see cref="Producer.TrySubmit"/>, then
/// <see cref="Producer.SubmitAsync"/> when it has no room), a read session from the start with
/// a count limit, and append-session acknowledgements one at a time. Writes the same JSON
/// fields as the Rust program (bench/s2/src/lib.rs), plus managed bytes allocated per record.
/// </summary>
internal static class Program
{
    private const string Layer = "dotnet";
    private const string DefaultLayer = "dotnet-appendasync";
    private const string Server = "s2 lite (s2-cli 0.43.4, in memory)";

    private static async Task<int> Main(string[] args)
    {
        var flags = ParseFlags(args);
        if (!flags.TryGetValue("endpoint", out var endpoint))
        {
            Console.Error.WriteLine("usage: s2-bench --endpoint URL [--small-records N] [--large-records N] [--large-bytes B] [--runs R] [--latency-samples N] [--only producer|default|catch-up|latency] [--max-queued N] [--json PATH]");
            return 2;
        }
        int Int(string name, int fallback) => flags.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var sizes = new[] { (Size: 100, Records: Int("small-records", 200_000)), (Size: Int("large-bytes", 8192), Records: Int("large-records", 20_000)) };
        var runs = Int("runs", 3);
        var latencySamples = Int("latency-samples", 2000);
        // For profiling one workload: --only producer|default|catch-up|latency (all by default).
        var only = flags.TryGetValue("only", out var o) ? o : null;
        // ProducerOptions.MaxQueuedSubmissions of the producers (default: the package's).
        s_producerOptions = new ProducerOptions();
        if (flags.ContainsKey("max-queued"))
        {
            s_producerOptions.MaxQueuedSubmissions = Int("max-queued", s_producerOptions.MaxQueuedSubmissions);
        }
        bool Runs(string workload) => only is null || only == workload;

        await using var client = new S2Client(new S2Options { AccessToken = "bench", Endpoint = new Uri(endpoint) });
        var basinName = $"bench-{Layer}";
        await client.DeleteBasinAsync(basinName, ignoreNotFound: true).ConfigureAwait(false);
        await client.CreateBasinAsync(basinName).ConfigureAwait(false);
        var basin = client.Basin(basinName);
        var results = new JsonArray();
        foreach (var (size, records) in sizes)
        {
            var body = new byte[size];
            body.AsSpan().Fill((byte)'x');
            var written = new List<Run>();
            var read = new List<Run>();
            if (Runs("producer") || Runs("catch-up"))
            {
                await ProduceAsync(await OpenAsync(basin, $"warmup-{size}").ConfigureAwait(false), body, Math.Max(1, records / 10)).ConfigureAwait(false);
                for (var run = 0; run < runs; run++)
                {
                    var stream = await OpenAsync(basin, $"producer-{size}-{run}").ConfigureAwait(false);
                    written.Add(await ProduceAsync(stream, body, records).ConfigureAwait(false));
                    if (Runs("catch-up"))
                    {
                        read.Add(await CatchUpAsync(stream, size, records).ConfigureAwait(false));
                    }
                }
                results.Add(Throughput("producer", "written", size, records, written));
            }
            if (Runs("default"))
            {
                // What a user writes by default: one AppendAsync(AppendRecord) per record, not awaiting its acknowledgement.
                var defaults = new List<Run>();
                for (var run = 0; run < runs; run++)
                {
                    defaults.Add(await ProduceByDefaultAsync(await OpenAsync(basin, $"default-{size}-{run}").ConfigureAwait(false), body, records).ConfigureAwait(false));
                }
                results.Add(Throughput("producer", "written (AppendAsync)", size, records, defaults, DefaultLayer));
            }
            if (read.Count > 0)
            {
                results.Add(Throughput("catch-up", "read", size, records, read));
            }
        }
        if (Runs("latency"))
        {
            results.Add(await LatencyAsync(await OpenAsync(basin, "latency").ConfigureAwait(false), latencySamples).ConfigureAwait(false));
        }
        await client.DeleteBasinAsync(basinName).ConfigureAwait(false);
        if (flags.TryGetValue("json", out var path))
        {
            await File.WriteAllTextAsync(path, results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n").ConfigureAwait(false);
        }
        return 0;
    }

    private readonly record struct Run(double Elapsed, double Cpu, double AllocatedPerRecord);

    private static async Task<S2Stream> OpenAsync(Basin basin, string name)
    {
        await basin.CreateStreamAsync(name).ConfigureAwait(false);
        return basin.Stream(name);
    }

    private static ProducerOptions s_producerOptions = new();

    private static double CpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>Every record through a producer on the span path; the stream must then hold exactly them.</summary>
    private static async Task<Run> ProduceAsync(S2Stream stream, byte[] body, int records)
    {
        var cpu = CpuSeconds();
        var started = Stopwatch.GetTimestamp();
        double perRecord;
        await using (var producer = await stream.OpenProducerAsync(s_producerOptions).ConfigureAwait(false))
        {
            var memory = body.AsMemory();
            // This method's own state machine is allocated at its first suspension: let that be now,
            // not at the first wait for room inside the measured loop.
            await Task.Yield();
            // Allocations of the submissions alone (opening and closing allocate once per producer).
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < records; i++)
            {
                if (!producer.TrySubmit(memory.Span))
                {
                    await producer.SubmitAsync(memory).ConfigureAwait(false);
                }
            }
            perRecord = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)records;
            await producer.CloseAsync().ConfigureAwait(false);
        }
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var spent = CpuSeconds() - cpu;
        var tail = await stream.CheckTailAsync().ConfigureAwait(false);
        if (tail.SequenceNumber != (ulong)records)
        {
            throw new InvalidOperationException($"the stream holds {tail.SequenceNumber} records, not {records}");
        }
        return new Run(elapsed, spent, perRecord);
    }

    /// <summary>Every record through <see cref="Producer.AppendAsync"/> with a new <see cref="AppendRecord"/> each, as the API reads by default.</summary>
    private static async Task<Run> ProduceByDefaultAsync(S2Stream stream, byte[] body, int records)
    {
        var cpu = CpuSeconds();
        var started = Stopwatch.GetTimestamp();
        double perRecord;
        await using (var producer = await stream.OpenProducerAsync(s_producerOptions).ConfigureAwait(false))
        {
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < records; i++)
            {
                await producer.AppendAsync(new AppendRecord(body)).ConfigureAwait(false);
            }
            perRecord = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)records;
            await producer.CloseAsync().ConfigureAwait(false);
        }
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var spent = CpuSeconds() - cpu;
        var tail = await stream.CheckTailAsync().ConfigureAwait(false);
        if (tail.SequenceNumber != (ulong)records)
        {
            throw new InvalidOperationException($"the stream holds {tail.SequenceNumber} records, not {records}");
        }
        return new Run(elapsed, spent, perRecord);
    }

    /// <summary>The whole stream through a read session with a count limit, checking every sequence number and body length.</summary>
    private static async Task<Run> CatchUpAsync(S2Stream stream, int size, int records)
    {
        var cpu = CpuSeconds();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        ulong next = 0;
        await using (var session = await stream.OpenReadSessionAsync(new ReadSessionOptions { Start = ReadStart.FromSequence(0), Count = (ulong)records, RetryForever = false }).ConfigureAwait(false))
        {
            await foreach (var record in ((IAsyncEnumerable<Record>)session).ConfigureAwait(false))
            {
                if (record.SequenceNumber != next || record.Body.Length != size)
                {
                    throw new InvalidOperationException($"read seq {record.SequenceNumber} ({record.Body.Length} B), expected {next} ({size} B)");
                }
                next++;
            }
        }
        if (next != (ulong)records)
        {
            throw new InvalidOperationException($"read {next} records, not {records}");
        }
        var perRecord = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)records;
        return new Run(Stopwatch.GetElapsedTime(started).TotalSeconds, CpuSeconds() - cpu, perRecord);
    }

    /// <summary>One 100 B record per batch through an append session, each acknowledged before the next.</summary>
    private static async Task<JsonObject> LatencyAsync(S2Stream stream, int samples)
    {
        var record = new AppendRecord(new byte[100]);
        var us = new List<double>(samples);
        await using (var session = await stream.OpenAppendSessionAsync().ConfigureAwait(false))
        {
            for (var i = 0; i < samples + (samples / 10); i++)
            {
                var started = Stopwatch.GetTimestamp();
                await session.AppendAsync(record, waitForAck: true).ConfigureAwait(false);
                if (i >= samples / 10)
                {
                    us.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                }
            }
            await session.CloseAsync().ConfigureAwait(false);
        }
        us.Sort();
        double At(double p) => us[Math.Clamp((int)Math.Ceiling((p / 100.0 * us.Count) - 1e-9), 1, us.Count) - 1];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Layer,-11} ack latency 100 B: p50 {At(50):F0} µs, p99 {At(99):F0} µs ({us.Count} samples)"));
        return new JsonObject
        {
            ["suite"] = "s2",
            ["benchmark"] = "append-latency",
            ["scenario"] = "1x100B",
            ["layer"] = Layer,
            ["record_bytes"] = 100,
            ["p50_us"] = At(50),
            ["p99_us"] = At(99),
            ["p999_us"] = At(99.9),
            ["max_us"] = us[^1],
            ["mean_us"] = us.Average(),
            ["samples"] = us.Count,
            ["server"] = Server,
        };
    }

    private static JsonObject Throughput(string benchmark, string verb, int size, int records, List<Run> runs, string layer = Layer)
    {
        var median = runs.OrderBy(r => r.Elapsed).ElementAt(runs.Count / 2);
        var perS = records / median.Elapsed;
        var mib = records * (double)size / (1024 * 1024) / median.Elapsed;
        var cpuUs = median.Cpu * 1e6 / records;
        // The median over the runs on its own: a one-off allocation of the runtime (the thread pool
        // adding a thread, about 1 KB, in whichever run it grows) is not an allocation per record.
        var allocated = runs.Select(r => r.AllocatedPerRecord).Order().ElementAt(runs.Count / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{layer,-11} {benchmark,-9} {size,5} B: {perS:N0} records/s, {mib:F1} MiB/s, {cpuUs:F2} µs CPU/record, {allocated:F1} B allocated/record ({verb})"));
        var runsArray = new JsonArray();
        foreach (var run in runs)
        {
            runsArray.Add(run.Elapsed);
        }
        return new JsonObject
        {
            ["suite"] = "s2",
            ["benchmark"] = benchmark,
            ["scenario"] = $"{records}x{size}B",
            ["layer"] = layer,
            ["record_bytes"] = size,
            ["records"] = records,
            ["records_per_s"] = perS,
            ["mib_per_s"] = mib,
            ["cpu_us_per_record"] = cpuUs,
            ["alloc_bytes_per_record"] = allocated,
            ["runs_s"] = runsArray,
            ["server"] = Server,
        };
    }

    private static Dictionary<string, string> ParseFlags(string[] args)
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument {args[i]}");
            }
            flags[args[i][2..]] = args[i + 1];
        }
        return flags;
    }
}
