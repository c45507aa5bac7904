using StreamDingo.Benchmarks;

// streamdingo-bench [all|append-batched|replay|replay-profile|replay-1000|append-latency|snapshots|hashes|memory] [--server URL] [--json PATH] [--scale N] [--parallel-replay false|true]
var command = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "all";
string? url = null, json = null;
var scale = 1;
for (var i = command == "all" && (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal)) ? 0 : 1; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--server": url = args[i + 1]; break;
        case "--json": json = args[i + 1]; break;
        case "--scale": scale = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--parallel-replay": Scenarios.ParallelReplay = bool.Parse(args[i + 1]); break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}");
            return 2;
    }
}

using var server = BenchServer.Start(url);
var report = new Report();
var scenarios = new Scenarios(server, report, scale);
var all = command == "all";
if (all || command == "hashes") scenarios.HashVerification();
if (all || command == "snapshots") await scenarios.SnapshotCreationAsync();
if (all || command == "append-latency") await scenarios.AppendLatencyAsync();
if (all || command == "append-batched") await scenarios.AppendBatchedAsync();
if (all || command == "replay") await scenarios.ReplayAsync();
if (command == "replay-profile") await scenarios.ReplayProfileAsync();
if (all || command == "replay-1000") await scenarios.Replay1000LatencyAsync();
if (all || command == "memory") await scenarios.MemoryAsync();
report.Write(json);
return 0;
