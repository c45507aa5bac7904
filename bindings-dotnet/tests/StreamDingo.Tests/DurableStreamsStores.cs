using DurableStreams;
using StreamDingo.DurableStreams;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

/// <summary>The Durable Streams stores the server tests build: a fresh path prefix each, the deposit domain.</summary>
internal static class DurableStreamsStores
{
    /// <summary>Store options under a path prefix of their own, so tests never share streams.</summary>
    public static DurableStreamsStoreOptions NewPrefix() => new() { PathPrefix = $"/streamdingo-tests/{Guid.NewGuid():N}" };

    /// <summary>Event sourcing over <paramref name="paths"/> with the deposit handler.</summary>
    public static EventSourcing Deposits(DurableStreamClient client, DurableStreamsStoreOptions paths, bool parallelReplay = false) =>
        new EventSourcingBuilder().WithDomain().AddHandler(new MoneyDepositedHandler()).UseDurableStreams(client, paths)
            .Configure(o => o.ParallelReplay = parallelReplay).Build();
}
