using System.Text.Json.Serialization;
using DurableStreams;
using DurableStreams.Tests.Infrastructure;
using StreamDingo.DurableStreams;

namespace StreamDingo.Tests.Docs;

// The first example of docs/streamdingo.md, unchanged but for the server URL: change both together.
public sealed record Account { public string Id { get; init; } = ""; public decimal Balance { get; init; } }
public sealed record AccountOpened(string Id) : IEvent;
public sealed record MoneyDeposited(decimal Amount) : IEvent;

public sealed class AccountOpenedHandler : IEventHandler<Account, AccountOpened>
{
    public Account Handle(Account? previous, AccountOpened e) => new() { Id = e.Id };
}

public sealed class MoneyDepositedHandler : IEventHandler<Account, MoneyDeposited>
{
    public Account Handle(Account? previous, MoneyDeposited e) => previous! with { Balance = previous!.Balance + e.Amount };
}

[JsonSerializable(typeof(Account))]
[JsonSerializable(typeof(AccountOpened))]
[JsonSerializable(typeof(MoneyDeposited))]
public sealed partial class BankJson : JsonSerializerContext;

[Collection(WriteCollection.Name)]
public sealed class DocumentationExampleTests(ServerFixture fixture) : ServerTest(fixture)
{
    [Fact]
    public async Task The_first_example_of_the_guide_runs()
    {
        await using var client = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = Server(TestServers.Electric).StreamPrefixUrl });
        var dingo = new EventSourcingBuilder()
            .AddEvent("AccountOpened", BankJson.Default.AccountOpened)   // the name is stored with each event
            .AddEvent("MoneyDeposited", BankJson.Default.MoneyDeposited)
            .AddState("Account", BankJson.Default.Account)               // needed for snapshots
            .AddHandler(new AccountOpenedHandler())
            .AddHandler(new MoneyDepositedHandler())
            .UseDurableStreams(client, new DurableStreamsStoreOptions { PathPrefix = $"/docs-{Guid.NewGuid():N}" })
            .SnapshotEvery(100)
            .Build();

        var after = await dingo.Aggregates.AppendAsync<Account>("account-42", ExpectedVersion.NoStream,
            [new AccountOpened("account-42"), new MoneyDeposited(10)]);
        var loaded = await dingo.Aggregates.LoadAsync<Account>("account-42");

        Assert.Equal((10m, 2L), (after.State!.Balance, after.Version));
        Assert.Equal((10m, 2L, ReplaySource.FromBeginning), (loaded.State!.Balance, loaded.Version, loaded.Source));
    }
}
