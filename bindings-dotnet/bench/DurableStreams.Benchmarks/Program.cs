using DurableStreams;
using DurableStreams.Benchmarks;

// durable-streams-bench <command> [--flags]: one benchmark per command, each starting its own
// Electric server (memory mode) unless --server is given; results as JSON with --json.
var commands = new Dictionary<string, Func<string[], Task>>(StringComparer.Ordinal)
{
    ["producer-throughput"] = ProducerThroughput.RunAsync,
    ["append-latency"] = AppendLatency.RunAsync,
    ["catchup-bytes"] = CatchupBytes.RunAsync,
    ["catchup-json"] = CatchupJson.RunAsync,
    ["live-latency"] = LiveLatency.RunAsync,
    ["call-overhead"] = CallOverhead.RunAsync,
    ["soak"] = Soak.RunAsync,
    ["state-apply"] = StateApply.RunAsync,
    ["subscription-delivery"] = SubscriptionDelivery.RunAsync,
    ["webhook-delivery"] = WebhookDelivery.RunAsync,
};
if (args.Length == 0 || !commands.TryGetValue(args[0], out var command))
{
    Console.Error.WriteLine($"usage: durable-streams-bench <{string.Join('|', commands.Keys)}> [--help | options]");
    return args.Length == 0 || args[0] is "help" or "--help" or "-h" ? 0 : 2;
}
try
{
    await command(args[1..]).ConfigureAwait(false);
    return 0;
}
catch (Exception e) when (e is BenchFailure or DurableStreamException or HttpRequestException or TimeoutException)
{
    Console.Error.WriteLine($"{args[0]}: {e.Message}");
    return 1;
}
