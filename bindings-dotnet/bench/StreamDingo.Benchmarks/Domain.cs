using System.Text.Json.Serialization;

namespace StreamDingo.Benchmarks;

internal sealed record Counter
{
    public string Id { get; init; } = "";
    public long Total { get; init; }
    public long Count { get; init; }
}

internal sealed record Added(long Amount) : IEvent;

internal sealed class AddedHandler : IEventHandler<Counter, Added>
{
    public Counter Handle(Counter? previousSnapshot, Added @event)
    {
        var counter = previousSnapshot ?? new Counter();
        return counter with { Total = counter.Total + @event.Amount, Count = counter.Count + 1 };
    }
}

[JsonSerializable(typeof(Counter))]
[JsonSerializable(typeof(Added))]
internal sealed partial class BenchJson : JsonSerializerContext
{
}
