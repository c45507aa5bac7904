using System.Diagnostics;

namespace DurableStreams.Benchmarks;

/// <summary>
/// Single-append latency, as bench/src/bin/append-latency.rs: S bytes one at a time (each awaited
/// before the next), p50/p99/p999, appends/s, CPU and managed allocations per append. "dotnet":
/// <see cref="DurableStream.AppendAsync(ReadOnlyMemory{byte}, AppendOptions?, CancellationToken)"/>;
/// "dotnet-httpclient": one POST each. Checked by reading the stream back (exact byte count).
/// </summary>
internal static class AppendLatency
{
    private const string Bench = "append-latency";

    public static async Task RunAsync(string[] args)
    {
        var flags = Flags.Parse(Bench, "latency of plain appends, one at a time", args,
            ("appends", "N: measured appends (default 10000)"),
            ("warmup", "N: appends before measuring (default 1000)"),
            ("size", "BYTES: append size (default 100)"));
        var appends = (int)flags.Int("appends", 10_000);
        var warmup = (int)flags.Int("warmup", 1_000, min: 0);
        var size = (int)flags.Int("size", 100);
        var results = new Results(flags);
        using var server = BenchServer.Start(flags);
        await using var client = new DurableStreamClient(new DurableStreamClientOptions());
        using var http = PlainHttp.NewClient();
        var payload = new byte[size];
        payload.AsSpan().Fill((byte)'x');
        var body = new ReadOnlyMemory<byte>(payload);

        var layers = new List<(string Layer, Func<string, Task> Create, Func<string, Task> Append)>();
        if (flags.Runs("dotnet"))
        {
            layers.Add((Layer.Ours,
                url => client.CreateStreamAsync(url, new CreateStreamOptions { ContentType = "application/octet-stream" }),
                url => client.GetStream(url).AppendAsync(body)));
        }
        if (flags.Runs("httpclient"))
        {
            layers.Add((Layer.HttpClient,
                url => PlainHttp.CreateAsync(http, url, PlainHttp.OctetStream),
                url => PlainHttp.PostAsync(http, url, body, PlainHttp.OctetStream)));
        }
        foreach (var (layer, create, append) in layers)
        {
            var url = server.StreamUrl($"append-latency-{layer}");
            await create(url).ConfigureAwait(false);
            // The dotnet layer appends through one handle, as an application keeps it.
            var stream = client.GetStream(url);
            Func<Task> once = layer == Layer.Ours ? () => stream.AppendAsync(body) : () => append(url);
            for (var i = 0; i < warmup; i++)
            {
                await once().ConfigureAwait(false);
            }
            GC.Collect();
            var samples = new Samples(appends);
            var probe = Cost.Start();
            for (var i = 0; i < appends; i++)
            {
                var sent = Stopwatch.GetTimestamp();
                await once().ConfigureAwait(false);
                samples.RecordTicks(Stopwatch.GetTimestamp() - sent);
            }
            var cost = probe.Stop();
            var total = await Check.StreamBytesAsync(client, url).ConfigureAwait(false);
            if (total != (long)(warmup + appends) * size)
            {
                throw new BenchFailure($"{Bench} [{layer}]: read back {total} bytes, expected {(long)(warmup + appends) * size}");
            }
            var perS = appends / cost.Seconds;
            var cpuUs = cost.CpuSeconds * 1e6 / appends;
            var alloc = (double)cost.AllocatedBytes / appends;
            var line = $"{Bench} [{layer}] {appends} x {size} B one at a time: p50 {Stats.F(samples.PercentileUs(50), 0)} us, p99 {Stats.F(samples.PercentileUs(99), 0)} us, "
                + $"p99.9 {Stats.F(samples.PercentileUs(99.9), 0)} us, {Stats.F(perS, 0)} appends/s, {Stats.F(cpuUs)} us CPU/append, {Stats.F(alloc, 0)} B allocated/append";
            var result = Results.New(Bench, $"{size}B", $"single append {size} B (one at a time)", layer);
            result["appends"] = appends;
            result["warmup"] = warmup;
            result["message_bytes"] = size;
            result["messages_per_s"] = perS;
            result["cpu_us_per_message"] = cpuUs;
            result["allocated_bytes_per_message"] = alloc;
            samples.AddTo(result);
            results.Add(line, result);
        }
        results.Write();
    }
}
