using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace DurableStreams.Benchmarks;

/// <summary>
/// Cost of single calls from .NET, the counterpart of bench/src/bin/call-overhead.rs (Rust API)
/// and tests/c/bench_try_append.c (C ABI): the difference is what the .NET layer (P/Invoke, GC
/// transition, SafeHandle lease, argument checks) costs.
/// <list type="bullet">
/// <item><c>TryAppend</c> of 100 B, isolated: the producer points at a closed port, so nothing is delivered.</item>
/// <item><c>TryAppend</c> of 100 B while a real server receives the batches.</item>
/// <item><c>TryAppend</c> when the buffer is full (returns false).</item>
/// <item><c>Epoch</c>: a trivial call.</item>
/// <item><c>FlushAsync</c> with nothing pending and <c>HeadAsync</c>: async round trips through the C ABI's callbacks.</item>
/// </list>
/// Loops run on the main thread; ns per call is the median of <c>--reps</c> repetitions after a
/// warm-up one. Managed bytes allocated per call are reported too (0 expected for appends).
/// Freed native memory is kept in the process (mallopt), as the Rust and C programs do.
/// </summary>
internal static partial class CallOverhead
{
    private const string Bench = "call-overhead";
    private static readonly byte[] Payload = CreatePayload();

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int param, int value);

    private static byte[] CreatePayload()
    {
        var payload = new byte[100];
        payload.AsSpan().Fill((byte)'x');
        return payload;
    }

    public static async Task RunAsync(string[] args)
    {
        var flags = Flags.Parse(Bench, "ns per call of the .NET API (over the C ABI)", args,
            ("calls", "N: calls per repetition of a synchronous loop (default 2000000)"),
            ("reps", "R: repetitions; the median is reported (default 3)"),
            ("round-trips", "N: async round trips measured (default 5000)"),
            ("only", "SCENARIO: run just this one (e.g. try-append-full), for profiling"));
        var calls = (int)flags.Int("calls", 2_000_000);
        var reps = (int)flags.Int("reps", 3);
        var roundTrips = (int)flags.Int("round-trips", 5_000);
        var only = flags.Str("only");
        bool Wanted(string scenario) => only is null || only == scenario;
        var results = new Results(flags);
        if (!flags.Runs("dotnet"))
        {
            results.Write();
            return;
        }

        // M_TRIM_THRESHOLD (-1) and M_MMAP_THRESHOLD (-3): keep freed native memory warm.
        MallOpt(-3, 32 << 20);
        MallOpt(-1, 1 << 30);
        using var server = BenchServer.Start(flags);
        await using var client = new DurableStreamClient(new DurableStreamClientOptions());
        var dead = client.GetStream($"http://127.0.0.1:{ClosedPort()}/nowhere");
        var live = await client.CreateStreamAsync(server.StreamUrl("call-overhead"), new CreateStreamOptions { ContentType = "application/octet-stream" }).ConfigureAwait(false);
        IdempotentProducerOptions Roomy() => new()
        {
            MaxBufferedBytes = (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)calls * (ulong)Payload.Length) * 2,
            MaxBufferedMessages = calls * 2,
            ContentType = "application/octet-stream",
        };

        if (Wanted("try-append-isolated"))
        {
            var (cold, runs, alloc) = Repeat(reps, () =>
            {
                var producer = dead.CreateProducer("bench-calls", Roomy());
                var measured = AppendLoop(producer, calls);
                Abandon();
                return measured;
            });
            results.Add(PerCall("try-append-isolated", "try_append 100 B (nothing delivered)", cold, runs, alloc, calls, reps));
        }

        if (Wanted("try-append-delivering"))
        {
            var (cold, runs, alloc) = Repeat(reps, () =>
            {
                var producer = live.CreateProducer("bench-calls", Roomy());
                var measured = AppendLoop(producer, calls);
                producer.DisposeAsync().AsTask().GetAwaiter().GetResult(); // flushes, then detaches
                return measured;
            });
            results.Add(PerCall("try-append-delivering", "try_append 100 B (server receiving)", cold, runs, alloc, calls, reps));
        }

        if (Wanted("try-append-full"))
        {
            var (cold, runs, alloc) = Repeat(reps, () =>
            {
                var options = Roomy();
                options.MaxBufferedMessages = 1;
                options.Linger = TimeSpan.FromSeconds(600);
                var producer = dead.CreateProducer("bench-calls", options);
                if (!producer.TryAppend(Payload))
                {
                    throw new BenchFailure($"{Bench}: the first append to an empty buffer failed");
                }
                var allocated = Meter.Allocated();
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < calls; i++)
                {
                    if (producer.TryAppend(Payload))
                    {
                        throw new BenchFailure($"{Bench}: TryAppend on a full buffer returned true");
                    }
                }
                var ns = Stopwatch.GetElapsedTime(started).TotalNanoseconds / calls;
                var bytes = (double)(Meter.Allocated() - allocated) / calls;
                Abandon();
                return (ns, bytes);
            });
            results.Add(PerCall("try-append-full", "try_append when full", cold, runs, alloc, calls, reps));
        }

        if (Wanted("epoch"))
        {
            IdempotentProducer? producer = dead.CreateProducer("bench-calls", Roomy());
            var (cold, runs, alloc) = Repeat(reps, () =>
            {
                var allocated = Meter.Allocated();
                var started = Stopwatch.GetTimestamp();
                long sum = 0;
                for (var i = 0; i < calls * 5; i++)
                {
                    sum += producer!.Epoch;
                }
                var ns = Stopwatch.GetElapsedTime(started).TotalNanoseconds / (calls * 5.0);
                GC.KeepAlive(sum);
                return (ns, (double)(Meter.Allocated() - allocated) / (calls * 5.0));
            });
            producer = null;
            Abandon();
            results.Add(PerCall("epoch", "producer epoch (trivial call)", cold, runs, alloc, calls * 5, reps));
        }

        if (Wanted("flush-empty"))
        {
            await using var flusher = live.CreateProducer("bench-flush", Roomy());
            var samples = new Samples(roundTrips * 4);
            var allocated = 0L;
            for (var i = 0; i < roundTrips * 5; i++)
            {
                if (i == roundTrips)
                {
                    allocated = Meter.Allocated();
                }
                var started = Stopwatch.GetTimestamp();
                await flusher.FlushAsync().ConfigureAwait(false);
                if (i >= roundTrips)
                {
                    samples.RecordTicks(Stopwatch.GetTimestamp() - started);
                }
            }
            results.Add(RoundTrip("flush-empty", "flush with nothing pending", samples, (double)(Meter.Allocated() - allocated) / (roundTrips * 4)));
        }

        if (Wanted("head"))
        {
            var samples = new Samples(roundTrips);
            var allocated = 0L;
            for (var i = 0; i < roundTrips + roundTrips / 10; i++)
            {
                if (i == roundTrips / 10)
                {
                    allocated = Meter.Allocated();
                }
                var started = Stopwatch.GetTimestamp();
                await live.HeadAsync().ConfigureAwait(false);
                if (i >= roundTrips / 10)
                {
                    samples.RecordTicks(Stopwatch.GetTimestamp() - started);
                }
            }
            results.Add(RoundTrip("head", "head round trip (HTTP)", samples, (double)(Meter.Allocated() - allocated) / roundTrips));
        }
        results.Write();
    }

    /// <summary>
    /// Collects producers dropped without flushing (their batches can never be delivered): the
    /// finalizer of each one's SafeHandle frees the native producer. Call after the last use.
    /// </summary>
    private static void Abandon()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary><paramref name="calls"/> accepted 100-byte appends: ns and allocated bytes per call.</summary>
    private static (double Ns, double Bytes) AppendLoop(IdempotentProducer producer, int calls)
    {
        var allocated = Meter.Allocated();
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            if (!producer.TryAppend(Payload))
            {
                throw new BenchFailure($"{Bench}: append {i} was refused");
            }
        }
        var ns = Stopwatch.GetElapsedTime(started).TotalNanoseconds / calls;
        return (ns, (double)(Meter.Allocated() - allocated) / calls);
    }

    /// <summary>One warm-up repetition ("cold"), then <paramref name="reps"/> measured ones; the allocations of the median one.</summary>
    private static (double Cold, List<double> Runs, double Alloc) Repeat(int reps, Func<(double Ns, double Bytes)> measure)
    {
        var cold = measure().Ns;
        var runs = new List<(double Ns, double Bytes)>();
        for (var r = 0; r < reps; r++)
        {
            runs.Add(measure());
        }
        var ns = runs.Select(r => r.Ns).ToList();
        return (cold, ns, runs[Stats.Median(ns).Index].Bytes);
    }

    private static (string, JsonObject) PerCall(string scenario, string title, double cold, List<double> runs, double alloc, int calls, int reps)
    {
        var ns = Stats.Median(runs).Value;
        var line = $"{Bench} [{Layer.Ours}] {title}: {Stats.F(ns)} ns/call, {Stats.F(alloc, 3)} B allocated/call (median of {reps} x {Stats.Thousands(calls)} calls; "
            + $"range {Stats.F(runs.Min())}-{Stats.F(runs.Max())}; cold {Stats.F(cold)})";
        var result = Results.New(Bench, scenario, title, Layer.Ours);
        result["ns_per_call"] = ns;
        result["ns_per_call_runs"] = Stats.Array(runs);
        result["cold_ns_per_call"] = cold;
        result["allocated_bytes_per_call"] = alloc;
        result["calls"] = calls;
        return (line, result);
    }

    private static (string, JsonObject) RoundTrip(string scenario, string title, Samples samples, double alloc)
    {
        var line = $"{Bench} [{Layer.Ours}] {title}: p50 {Stats.F(samples.PercentileUs(50), 2)} us, p99 {Stats.F(samples.PercentileUs(99), 2)} us, "
            + $"mean {Stats.F(samples.MeanUs(), 2)} us, {Stats.F(alloc, 0)} B allocated ({samples.Count} round trips)";
        var result = Results.New(Bench, scenario, title, Layer.Ours);
        result["allocated_bytes_per_call"] = alloc;
        samples.AddTo(result);
        return (line, result);
    }

    /// <summary>A port with nothing listening (bound, then released), so connections are refused at once.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
