using System.Diagnostics;
using System.Text.Json.Nodes;
using DurableStreams;
using StreamDingo.DurableStreams;
using StreamDingo.InMemory;

namespace StreamDingo.Benchmarks;

/// <summary>One scenario per seed target.</summary>
internal sealed class Scenarios(BenchServer server, Report report, int scale)
{
    /// <summary>StreamDingoOptions.ParallelReplay for every scenario (<c>--parallel-replay true</c> measures the parallel decode and hash checks).</summary>
    public static bool ParallelReplay { get; set; }

    private static EventSourcingBuilder Domain() => new EventSourcingBuilder()
        .AddEvent("Added", BenchJson.Default.Added)
        .AddState("Counter", BenchJson.Default.Counter)
        .AddHandler(new AddedHandler())
        .Configure(o => o.ParallelReplay = ParallelReplay);

    private DurableStreamClient NewClient() => new(new DurableStreamClientOptions { BaseUrl = server.Prefix });

    private static DurableStreamsStoreOptions NewPaths() => new() { PathPrefix = $"/streamdingo-bench/{Guid.NewGuid():N}" };

    private static IEvent[] Batch(int size, long start) => Enumerable.Range(0, size).Select(i => (IEvent)new Added(start + i)).ToArray();

    /// <summary>Batched appends (100 events per call) from 4 concurrent aggregates.</summary>
    public async Task AppendBatchedAsync()
    {
        const int streams = 4, batch = 100;
        var perStream = 50_000 * scale / streams;
        await using var client = NewClient();
        var dingo = Domain().UseDurableStreams(client, NewPaths()).Build();
        await Task.WhenAll(Enumerable.Range(0, streams).Select(s => dingo.Store.AppendEventsAsync($"warm-{s}", 0, Batch(batch, 0)).AsTask()));
        var (seconds, allocated) = await Measure.RunAsync(() => Task.WhenAll(Enumerable.Range(0, streams).Select(async s =>
        {
            for (var version = 0; version < perStream; version += batch)
            {
                await dingo.Store.AppendEventsAsync($"agg-{s}", version, Batch(batch, version));
            }
        })));
        var events = (double)perStream * streams;
        report.Add("append-batched", $"{Measure.N(events)} events, batches of {batch}, {streams} aggregates", "events_per_s", events / seconds, "> 100,000 events/s", events / seconds > 100_000,
            new JsonObject { ["allocated_bytes_per_event"] = allocated / events });
        report.Add("append-allocations", "bytes allocated per appended event (batched)", "allocated_bytes_per_event", allocated / events, "< 1 KB per event", allocated / events < 1024);
    }

    /// <summary>Replay of one long stream from the server through the handlers, verifying every hash.</summary>
    public async Task ReplayAsync()
    {
        var events = 100_000 * scale;
        await using var client = NewClient();
        var dingo = Domain().UseDurableStreams(client, NewPaths()).Build();
        for (var version = 0; version < events; version += 1000)
        {
            await dingo.Store.AppendEventsAsync("long", version, Batch(1000, version));
        }
        await dingo.Replay.ReplayEventsAsync<Counter>("long"); // warm-up
        var best = double.MaxValue;
        long allocated = 0;
        for (var run = 0; run < 3; run++)
        {
            Counter? state = null;
            var (seconds, bytes) = await Measure.RunAsync(async () => state = await dingo.Replay.ReplayEventsAsync<Counter>("long"));
            if (state!.Count != events)
            {
                throw new InvalidOperationException($"Replayed {state.Count} events, expected {events}.");
            }
            if (seconds < best)
            {
                best = seconds;
                allocated = bytes;
            }
        }
        report.Add("replay", $"{Measure.N(events)} events from the server, hashes verified", "events_per_s", events / best, "> 500,000 events/s", events / best > 500_000,
            new JsonObject { ["allocated_bytes_per_event"] = (double)allocated / events });
        report.Add("replay-allocations", "bytes allocated per replayed event", "allocated_bytes_per_event", (double)allocated / events, "< 1 KB per event", (double)allocated / events < 1024);

        // The same fold without the network: what the library itself costs.
        var memory = Domain().UseInMemory().Build();
        for (var version = 0; version < events; version += 1000)
        {
            await memory.Store.AppendEventsAsync("long", version, Batch(1000, version));
        }
        await memory.Replay.ReplayEventsAsync<Counter>("long");
        var (inMemorySeconds, _) = await Measure.RunAsync(async () => await memory.Replay.ReplayEventsAsync<Counter>("long"));
        report.Add("replay-in-memory", $"{Measure.N(events)} events from the in-memory store, hashes verified", "events_per_s", events / inMemorySeconds, "> 500,000 events/s", events / inMemorySeconds > 500_000);
    }

    /// <summary>
    /// Where a replay from the server spends its time (not a seed target): the transport alone
    /// (responses split into messages), plus envelope decoding, plus chain verification, the full
    /// replay; and the same steps on messages already in memory, per event.
    /// </summary>
    public async Task ReplayProfileAsync()
    {
        var events = 100_000 * scale;
        await using var client = NewClient();
        var paths = NewPaths();
        var dingo = Domain().UseDurableStreams(client, paths).Build();
        for (var version = 0; version < events; version += 1000)
        {
            await dingo.Store.AppendEventsAsync("long", version, Batch(1000, version));
        }
        var stream = client.GetStream(paths.EventStreamPath("long"));
        var verifier = dingo.Integrity;
        var messages = new List<byte[]>();
        var chunks = 0;

        async Task<int> ReadAsync(bool decode, bool verify, bool keep)
        {
            var count = 0;
            var previous = EventHashChain.GenesisHash;
            await using var response = await stream.StreamAsync(new StreamOptions { Offset = Offset.Beginning });
            await foreach (var chunk in response.ReadBytesAsync())
            {
                chunks++;
                foreach (var message in chunk.Messages ?? [])
                {
                    count++;
                    if (keep)
                    {
                        messages.Add(message.ToArray());
                    }
                    if (decode)
                    {
                        var envelope = EventEnvelopeJson.Read("long", message.Span);
                        if (verify)
                        {
                            verifier.VerifyEvent(envelope, count, previous);
                            previous = envelope.Hash;
                        }
                    }
                }
            }
            return count;
        }

        await ReadAsync(decode: false, verify: false, keep: true); // warm-up, and the messages for the in-memory steps
        var perChunk = messages.Count / Math.Max(1, chunks);
        double Best(Func<Task> work) => Enumerable.Range(0, 3).Select(_ => Measure.RunAsync(work).GetAwaiter().GetResult().Seconds).Min();
        var transport = Best(() => ReadAsync(false, false, false));
        var decoded = Best(() => ReadAsync(true, false, false));
        var verified = Best(() => ReadAsync(true, true, false));
        var full = Best(() => dingo.Replay.ReplayEventsAsync<Counter>("long").AsTask());
        // CPU time of this process (the server excluded): what the client spends per event, whatever the machine's load.
        var cpu = double.MaxValue;
        for (var run = 0; run < 3; run++)
        {
            var before = Process.GetCurrentProcess().TotalProcessorTime;
            await dingo.Replay.ReplayEventsAsync<Counter>("long");
            cpu = Math.Min(cpu, (Process.GetCurrentProcess().TotalProcessorTime - before).TotalMicroseconds / events);
        }
        report.Add("replay-profile-transport", $"{Measure.N(events)} events: responses read and split into messages only ({Measure.N(perChunk)} messages per chunk)", "us_per_event", transport * 1e6 / events, "(profile)", true);
        report.Add("replay-profile-decode", "+ envelope JSON decoded", "us_per_event", decoded * 1e6 / events, "(profile)", true);
        report.Add("replay-profile-verify", "+ hash chain verified", "us_per_event", verified * 1e6 / events, "(profile)", true);
        report.Add("replay-profile-full", "the full replay (+ event deserialized, handler applied)", "us_per_event", full * 1e6 / events, "(profile)", true);
        report.Add("replay-profile-full-cpu", "the full replay: CPU time of this process (all threads)", "cpu_us_per_event", cpu, "(profile)", true);

        // The library's steps alone, on the same bytes already in memory.
        var envelopes = new EventEnvelope[messages.Count];
        var decodeOnly = Best(() =>
        {
            for (var i = 0; i < messages.Count; i++)
            {
                envelopes[i] = EventEnvelopeJson.Read("long", messages[i]);
            }
            return Task.CompletedTask;
        });
        var verifyOnly = Best(() =>
        {
            var previous = EventHashChain.GenesisHash;
            for (var i = 0; i < envelopes.Length; i++)
            {
                verifier.VerifyEvent(envelopes[i], i + 1, previous);
                previous = envelopes[i].Hash;
            }
            return Task.CompletedTask;
        });
        var hashOnly = Best(() =>
        {
            Span<byte> destination = stackalloc byte[32];
            var provider = dingo.Store.Context.HashProvider;
            var input = new byte[100];
            for (var i = 0; i < envelopes.Length; i++)
            {
                provider.ComputeHash(input, destination);
            }
            return Task.CompletedTask;
        });
        var deserializeOnly = Best(() =>
        {
            for (var i = 0; i < envelopes.Length; i++)
            {
                System.Text.Json.JsonSerializer.Deserialize(envelopes[i].Data.Span, BenchJson.Default.Added);
            }
            return Task.CompletedTask;
        });
        report.Add("replay-profile-memory-decode", "in memory: envelope JSON decode", "us_per_event", decodeOnly * 1e6 / events, "(profile)", true);
        report.Add("replay-profile-memory-verify", "in memory: chain verification", "us_per_event", verifyOnly * 1e6 / events, "(profile)", true);
        report.Add("replay-profile-memory-sha256", "in memory: one SHA-256 of 100 bytes", "us_per_event", hashOnly * 1e6 / events, "(profile)", true);
        report.Add("replay-profile-memory-deserialize", "in memory: event JSON deserialize", "us_per_event", deserializeOnly * 1e6 / events, "(profile)", true);
    }

    /// <summary>Loads of a 1,000-event stream: the latency of a replay.</summary>
    public async Task Replay1000LatencyAsync()
    {
        await using var client = NewClient();
        var dingo = Domain().UseDurableStreams(client, NewPaths()).Build();
        await dingo.Store.AppendEventsAsync("thousand", 0, Batch(1000, 0));
        var samples = new List<double>();
        for (var i = 0; i < 20 + 200; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await dingo.Replay.ReplayEventsAsync<Counter>("thousand");
            if (i >= 20)
            {
                samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        samples.Sort();
        var p99 = Measure.Percentile(samples, 99);
        report.Add("replay-1000-latency", "replay of 1,000 events from the server (200 loads)", "p99_ms", p99, "< 10 ms p99", p99 < 10,
            new JsonObject { ["p50_ms"] = Measure.Percentile(samples, 50) });
    }

    /// <summary>Single-event appends, one after the other, on one aggregate.</summary>
    public async Task AppendLatencyAsync()
    {
        await using var client = NewClient();
        var dingo = Domain().UseDurableStreams(client, NewPaths()).Build();
        var samples = new List<double>();
        var one = new IEvent[1];
        for (var version = 0; version < 200 + 2000 * scale; version++)
        {
            one[0] = new Added(version);
            var started = Stopwatch.GetTimestamp();
            await dingo.Store.AppendEventsAsync("single", version, one);
            if (version >= 200)
            {
                samples.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
        }
        samples.Sort();
        var p99 = Measure.Percentile(samples, 99);
        report.Add("append-latency", $"single-event append, {samples.Count} sequential", "p99_us", p99, "< 1 ms p99", p99 < 1000,
            new JsonObject { ["p50_us"] = Measure.Percentile(samples, 50), ["p999_us"] = Measure.Percentile(samples, 99.9) });
    }

    /// <summary>Snapshot creation: state serialized, hashed and stored (in memory, and on the server's companion stream).</summary>
    public async Task SnapshotCreationAsync()
    {
        var memory = Domain().UseInMemory().Build();
        await memory.Store.AppendEventsAsync("s", 0, Batch(10, 0));
        var state = await memory.Replay.ReplayEventsAsync<Counter>("s");
        var hashes = memory.Handlers.CurrentHashes<Counter>();
        var count = 100_000 * scale;
        var (seconds, _) = await Measure.RunAsync(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                await memory.Store.Context.Snapshots.CreateAsync("s", state, 10, EventHashChain.GenesisHash, hashes);
            }
        });
        report.Add("snapshot-creation", "snapshots created (serialize, SHA-256, store in memory)", "snapshots_per_s", count / seconds, "> 10,000 snapshots/s", count / seconds > 10_000);

        await using var client = NewClient();
        var remote = Domain().UseDurableStreams(client, NewPaths()).Build();
        await remote.Store.AppendEventsAsync("s", 0, Batch(10, 0));
        const int remoteCount = 2000;
        var (remoteSeconds, _) = await Measure.RunAsync(() => Task.WhenAll(Enumerable.Range(0, 4).Select(async w =>
        {
            for (var i = 0; i < remoteCount / 4; i++)
            {
                await remote.Store.Context.Snapshots.CreateAsync($"s{w}", state, 10, EventHashChain.GenesisHash, hashes);
            }
        })));
        report.Add("snapshot-creation-server", "snapshots created on the server's companion streams (4 writers)", "snapshots_per_s", remoteCount / remoteSeconds, "> 10,000 snapshots/s", remoteCount / remoteSeconds > 10_000);
    }

    /// <summary>Chain-hash verification of stored events (CPU only).</summary>
    public void HashVerification()
    {
        var provider = Sha256HashProvider.Instance;
        var verifier = new IntegrityVerifier(provider);
        var count = 1_000_000 * scale;
        var envelopes = new EventEnvelope[Math.Min(count, 100_000)];
        var previous = EventHashChain.GenesisHash;
        var data = "{\"Amount\":123456}"u8.ToArray();
        for (var i = 0; i < envelopes.Length; i++)
        {
            var envelope = new EventEnvelope("h", i + 1, "Added", DateTimeOffset.UtcNow, Guid.NewGuid(), data, previous, "");
            envelope = envelope with { Hash = EventHashChain.Compute(provider, envelope) };
            envelopes[i] = envelope;
            previous = envelope.Hash;
        }
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var envelope = envelopes[i % envelopes.Length];
            verifier.VerifyEvent(envelope, envelope.Version, envelope.PreviousHash);
        }
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        report.Add("hash-verification", $"{Measure.N(count)} event hashes verified (SHA-256, one thread)", "hashes_per_s", count / seconds, "> 1,000,000 hashes/s", count / seconds > 1_000_000,
            new JsonObject { ["us_per_hash"] = seconds * 1e6 / count, ["threads"] = 1 });

        // The same events checked in runs (IntegrityVerifier.VerifyEvents, as replays and audits do): content hashes eight at a time.
        started = Stopwatch.GetTimestamp();
        for (var done = 0; done < count; done += envelopes.Length)
        {
            var run = envelopes.AsSpan(0, Math.Min(envelopes.Length, count - done));
            verifier.VerifyEvents(run, 1, EventHashChain.GenesisHash);
        }
        seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        report.Add("hash-verification-batched", $"{Measure.N(count)} event hashes verified in runs (VerifyEvents, as a replay does; one thread)", "hashes_per_s", count / seconds, "> 1,000,000 hashes/s", count / seconds > 1_000_000,
            new JsonObject { ["us_per_hash"] = seconds * 1e6 / count, ["threads"] = 1 });

        // Verification is per event and independent: every core can take a share.
        var threads = Environment.ProcessorCount;
        started = Stopwatch.GetTimestamp();
        Parallel.For(0, threads, t =>
        {
            for (var i = t; i < count; i += threads)
            {
                var envelope = envelopes[i % envelopes.Length];
                verifier.VerifyEvent(envelope, envelope.Version, envelope.PreviousHash);
            }
        });
        seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        report.Add("hash-verification-parallel", $"{Measure.N(count)} event hashes verified on {threads} threads", "hashes_per_s", count / seconds, "> 1,000,000 hashes/s", count / seconds > 1_000_000,
            new JsonObject { ["threads"] = threads });
    }

    /// <summary>Memory of 1,000,000 events (1,000 aggregates of 1,000) and 2,000 snapshots held in the in-memory stores.</summary>
    public async Task MemoryAsync()
    {
        var dingo = Domain().UseInMemory().Build();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        const int aggregates = 1000, perAggregate = 1000, batch = 100;
        var hashes = dingo.Handlers.CurrentHashes<Counter>();
        for (var a = 0; a < aggregates; a++)
        {
            for (var version = 0; version < perAggregate; version += batch)
            {
                var result = await dingo.Store.AppendEventsAsync($"agg-{a}", version, Batch(batch, version));
                if (result.LastVersion % 500 == 0)
                {
                    await dingo.Store.Context.Snapshots.CreateAsync($"agg-{a}", new Counter { Id = $"agg-{a}", Total = version, Count = result.LastVersion }, result.LastVersion, result.LastHash, hashes);
                }
            }
        }
        var heap = GC.GetTotalMemory(forceFullCollection: true) - before;
        var mib = heap / 1024.0 / 1024.0;
        report.Add("memory-1m-events", "1,000,000 events + 2,000 snapshots held in memory (managed heap)", "heap_mib", mib, "< 1 GB", mib < 1024,
            new JsonObject { ["bytes_per_event"] = (double)heap / (aggregates * perAggregate), ["peak_rss_mib"] = Measure.PeakRssMib() });
        GC.KeepAlive(dingo);
    }
}
