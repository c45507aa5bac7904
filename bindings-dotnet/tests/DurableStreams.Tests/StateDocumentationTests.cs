using System.Text.Json;
using System.Text.Json.Serialization;
using DurableStreams.State;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>docs/state.md's first example, run against both servers, and the reflection-based overloads it mentions.</summary>
[Collection(WriteCollection.Name)]
public class StateDocumentationTests : ServerTest
{
    public StateDocumentationTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_first_example_of_the_state_guide_works(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await client.CreateStreamAsync(NewPath("shop"), new CreateStreamOptions { ContentType = "application/json" });

        // From docs/state.md, "A first example".
        var writer = new StateWriter(stream);
        await writer.InsertAsync("order", "eu:1", new Order("eu", 12), ShopJson.Default.Order);
        await writer.WriteAsync(ChangeEvent.Update("order", "eu:1", new Order("eu", 15)).WithTxId("tx-2"), ShopJson.Default.Order);

        var state = new MaterializedState();
        var orders = state.Collection("order", ShopJson.Default.Order);
        await state.CatchUpAsync(stream);
        Assert.Equal(15, orders["eu:1"].Total);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Reflection_overloads_use_the_clients_serializer_options(string kind)
    {
        var camelCase = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        await using var client = NewClient(kind, options => options.JsonSerializerOptions = camelCase);
        var stream = await NewStreamAsync(client, "application/json", "state-reflection");
        var writer = new StateWriter(stream);
        await writer.InsertAsync("order", "eu:1", new Order("eu", 1), Timeout());
        await writer.UpdateAsync("order", "eu:1", new Order("eu", 2), Timeout());
        await writer.UpsertAsync("order", "eu:2", new Order("eu", 3), Timeout());
        await writer.WriteAsync(ChangeEvent.Delete<Order>("order", "eu:2").WithOldValue(new Order("eu", 3)), Timeout());
        await using (var producer = stream.CreateProducer("reflection"))
        {
            var viaProducer = new StateWriter(producer);
            await viaProducer.UpsertAsync("order", "eu:3", new Order("eu", 4), Timeout());
            await viaProducer.WriteAsync(new StateBatch().Add(ChangeEvent.Upsert("order", "eu:4", new Order("eu", 5)), camelCase), Timeout());
            await viaProducer.FlushAsync(Timeout());
        }

        // The client's options (camelCase) were used: the source-generated camelCase metadata reads them.
        var typed = new MaterializedState();
        var orders = typed.Collection("order", ShopJson.Default.Order);
        await typed.CatchUpAsync(stream, Timeout());
        Assert.Equal([2, 4, 5], orders.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => o.Value.Total));

        var reflected = new MaterializedState();
        var viaReflection = reflected.Collection<Order>("order", camelCase);
        await reflected.CatchUpAsync(stream, Timeout());
        Assert.Equal(2, viaReflection["eu:1"].Total);

        var watch = new StateWatch<Order>(stream, new StateWatchOptions { KeyPrefix = "eu:2" });
        var changes = new List<ChangeEvent<Order>>();
        await foreach (var change in watch.ReadAsync(Timeout()))
        {
            changes.Add(change.Change!);
        }
        Assert.Equal([StateOperation.Upsert, StateOperation.Delete], changes.Select(c => c.Operation));
        Assert.Equal(3, changes[1].OldValue!.Total);

        var parsed = StateEvents.Parse<Order>("""{"type":"order","key":"k","value":{"region":"us","total":7},"headers":{"operation":"insert"}}"""u8, camelCase);
        Assert.Equal(new Order("us", 7), parsed.Change!.Value);
    }

    public sealed record Order(string Region, int Total);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StateDocumentationTests.Order))]
internal sealed partial class ShopJson : JsonSerializerContext;
