using System.Text.Json.Nodes;

namespace DurableStreams.Benchmarks;

/// <summary>
/// Producer throughput: N messages of S bytes through P producers (one stream each), as
/// bench/src/bin/producer-throughput.rs. "dotnet": <see cref="IdempotentProducer.TryAppend(byte[])"/>,
/// falling back to <see cref="IdempotentProducer.AppendAsync"/> (waits for room) when the buffer is
/// full, then <see cref="IdempotentProducer.FlushAsync"/>. "dotnet-httpclient": the messages
/// copied into a reused batch buffer of the producer's default <c>MaxBatchBytes</c> (1 MiB), each
/// batch POSTed with Producer-Id/Epoch/Seq, one at a time. A warm-up run (a tenth of the
/// messages), then <c>--runs</c> runs on fresh streams; the median run is reported with its
/// client CPU time and managed allocations per message.
/// </summary>
internal static class ProducerThroughput
{
    private const string Bench = "producer-throughput";

    public static async Task RunAsync(string[] args)
    {
        var flags = Flags.Parse(Bench, "idempotent producer throughput (dotnet and plain HttpClient)", args,
            ("messages", "N: messages in total (default 1000000)"),
            ("size", "BYTES: message size (default 100)"),
            ("producers", "P: concurrent producers, one stream each (default 1)"),
            ("runs", "R: measured runs; the median is reported (default 3)"),
            ("max-in-flight", "N: IdempotentProducerOptions.MaxInFlight of the dotnet producers (default: the library's, 5)"));
        var producers = (int)flags.Int("producers", 1);
        var perProducer = (int)(flags.Int("messages", 1_000_000) / producers);
        var messages = (long)perProducer * producers;
        var size = (int)flags.Int("size", 100);
        var runs = (int)flags.Int("runs", 3);
        var results = new Results(flags);
        using var server = BenchServer.Start(flags);
        await using var client = new DurableStreamClient(new DurableStreamClientOptions());
        using var http = PlainHttp.NewClient();
        var payload = new byte[size];
        payload.AsSpan().Fill((byte)'x');
        var options = new IdempotentProducerOptions();
        options.MaxInFlight = (int)flags.Int("max-in-flight", options.MaxInFlight);
        var batchBytes = options.MaxBatchBytes;

        var layers = new List<(string Layer, Func<string, int, Task<long>> Run)>();
        if (flags.Runs("dotnet"))
        {
            layers.Add((Layer.Ours, (tag, per) => OursAsync(client, server, tag, per, producers, payload, options)));
        }
        if (flags.Runs("httpclient"))
        {
            layers.Add((Layer.HttpClient, (tag, per) => PlainAsync(http, server, tag, per, producers, payload, batchBytes)));
        }
        foreach (var (layer, run) in layers)
        {
            await run($"{layer}-warmup", Math.Max(1, perProducer / 10)).ConfigureAwait(false);
            var costs = new List<Cost>();
            var batches = new List<long>();
            for (var r = 0; r < runs; r++)
            {
                // Start each run from a clean heap, so one run's garbage is not collected in the next.
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var probe = Cost.Start();
                batches.Add(await run($"{layer}-run{r}", perProducer).ConfigureAwait(false));
                costs.Add(probe.Stop());
            }
            // The check: every stream of the last run holds exactly what was written.
            for (var p = 0; p < producers; p++)
            {
                var bytes = await Check.StreamBytesAsync(client, server.StreamUrl($"producer-{layer}-run{runs - 1}-{p}")).ConfigureAwait(false);
                if (bytes != (long)perProducer * size)
                {
                    throw new BenchFailure($"{Bench} [{layer}]: stream {p} holds {bytes} bytes, expected {(long)perProducer * size}");
                }
            }
            var rates = costs.Select(c => messages / c.Seconds).ToList();
            var (mid, index) = Stats.Median(rates);
            var chosen = costs[index];
            var mbPerS = messages * size / 1e6 / chosen.Seconds;
            var cpuUs = chosen.CpuSeconds * 1e6 / messages;
            var allocPerMessage = (double)chosen.AllocatedBytes / messages;
            var plural = producers == 1 ? string.Empty : "s";
            var line = $"{Bench} [{layer}] {Stats.Thousands(messages)} x {size} B, {producers} producer{plural}: {Stats.Thousands(mid)} msg/s, {Stats.F(mbPerS)} MB/s, "
                + $"{Stats.F(cpuUs, 3)} us CPU/msg, {Stats.F(allocPerMessage, 2)} B allocated/msg, {chosen.Collections} GCs, {batches[index]} batches, {Stats.F(chosen.Seconds, 3)} s "
                + $"(median of {runs}; range {Stats.Thousands(rates.Min())}-{Stats.Thousands(rates.Max())} msg/s)";
            var result = Results.New(Bench, $"{messages}x{size}B-{producers}p", $"producer {Stats.Thousands(messages)} x {size} B, {producers} producer{plural}", layer);
            result["messages"] = messages;
            result["message_bytes"] = size;
            result["producers"] = producers;
            result["runs"] = runs;
            result["elapsed_s"] = chosen.Seconds;
            result["messages_per_s"] = mid;
            result["messages_per_s_runs"] = Stats.Array(rates);
            result["mb_per_s"] = mbPerS;
            result["cpu_us_per_message"] = cpuUs;
            result["allocated_bytes_per_message"] = allocPerMessage;
            result["allocated_bytes"] = chosen.AllocatedBytes;
            result["gen0_collections"] = chosen.Collections;
            result["batches"] = batches[index];
            result["batch_bytes"] = batchBytes;
            results.Add(line, result);
        }
        results.Write();
    }

    private static async Task<List<DurableStream>> CreateStreamsAsync(DurableStreamClient client, BenchServer server, string tag, int producers)
    {
        var streams = new List<DurableStream>();
        for (var p = 0; p < producers; p++)
        {
            streams.Add(await client.CreateStreamAsync(server.StreamUrl($"producer-{tag}-{p}"), new CreateStreamOptions { ContentType = "application/octet-stream" }).ConfigureAwait(false));
        }
        return streams;
    }

    /// <summary>The DurableStreams producer; returns the batches sent (the next sequence numbers).</summary>
    private static async Task<long> OursAsync(DurableStreamClient client, BenchServer server, string tag, int perProducer, int producers, byte[] payload, IdempotentProducerOptions options)
    {
        var streams = await CreateStreamsAsync(client, server, tag, producers).ConfigureAwait(false);
        var tasks = streams.Select((stream, p) => Task.Run(async () =>
        {
            var producer = stream.CreateProducer($"bench-{p}", options);
            for (var i = 0; i < perProducer; i++)
            {
                // The fast path never waits; only a full buffer falls back to the waiting append.
                if (!producer.TryAppend(payload))
                {
                    await producer.AppendAsync(payload).ConfigureAwait(false);
                }
            }
            await producer.FlushAsync().ConfigureAwait(false);
            return producer;
        })).ToList();
        var done = await Task.WhenAll(tasks).ConfigureAwait(false);
        long batches = 0;
        foreach (var producer in done)
        {
            batches += producer.NextSeq;
        }
        // Released after the measured part by the caller's next GC; dispose now (flushed: nothing to send).
        foreach (var producer in done)
        {
            await producer.DisposeAsync().ConfigureAwait(false);
        }
        return batches;
    }

    /// <summary>The HttpClient baseline; returns the batches POSTed.</summary>
    private static async Task<long> PlainAsync(HttpClient http, BenchServer server, string tag, int perProducer, int producers, byte[] payload, int batchBytes)
    {
        var urls = new List<string>();
        for (var p = 0; p < producers; p++)
        {
            var url = server.StreamUrl($"producer-{tag}-{p}");
            await PlainHttp.CreateAsync(http, url, PlainHttp.OctetStream).ConfigureAwait(false);
            urls.Add(url);
        }
        var tasks = urls.Select((url, p) => Task.Run(async () =>
        {
            var batch = new byte[batchBytes];
            var length = 0;
            long seq = 0;
            for (var i = 0; i < perProducer; i++)
            {
                if (length + payload.Length > batch.Length)
                {
                    await PlainHttp.PostBatchAsync(http, url, $"bench-{p}", seq++, batch, length, PlainHttp.OctetStream).ConfigureAwait(false);
                    length = 0;
                }
                payload.CopyTo(batch.AsSpan(length));
                length += payload.Length;
            }
            if (length > 0)
            {
                await PlainHttp.PostBatchAsync(http, url, $"bench-{p}", seq++, batch, length, PlainHttp.OctetStream).ConfigureAwait(false);
            }
            return seq;
        })).ToList();
        return (await Task.WhenAll(tasks).ConfigureAwait(false)).Sum();
    }
}

/// <summary>Read-back checks shared by the benchmarks (untimed).</summary>
internal static class Check
{
    /// <summary>The number of bytes in a byte stream, read from the beginning with the DurableStreams client.</summary>
    public static async Task<long> StreamBytesAsync(DurableStreamClient client, string url)
    {
        var stream = client.GetStream(url);
        await using var response = await stream.StreamAsync().ConfigureAwait(false);
        long total = 0;
        await foreach (var chunk in response.ReadBytesAsync().ConfigureAwait(false))
        {
            total += chunk.Data.Length;
            if (chunk.UpToDate || chunk.StreamClosed)
            {
                break;
            }
        }
        return total;
    }
}
