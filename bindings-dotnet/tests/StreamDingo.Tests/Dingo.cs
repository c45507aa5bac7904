using StreamDingo.InMemory;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

/// <summary>Builds configured StreamDingo instances over the test domain.</summary>
internal static class Dingo
{
    /// <summary>The domain's types and handlers (the generated hashes) on <paramref name="builder"/>.</summary>
    public static EventSourcingBuilder WithDomain(this EventSourcingBuilder builder, bool withNoteType = true)
    {
        builder
            .AddEvent("AccountOpened", DomainJson.Default.AccountOpened)
            .AddEvent("MoneyDeposited", DomainJson.Default.MoneyDeposited)
            .AddEvent("MoneyWithdrawn", DomainJson.Default.MoneyWithdrawn)
            .AddState("Account", DomainJson.Default.Account)
            .AddHandler(new AccountOpenedHandler())
            .AddHandler(new MoneyWithdrawnHandler());
        if (withNoteType)
        {
            builder.AddEvent("NoteAdded", DomainJson.Default.NoteAdded);
        }
        return builder;
    }

    /// <summary>A fresh in-memory instance with the domain and the plain deposit handler.</summary>
    public static EventSourcing InMemory(Action<EventSourcingBuilder>? configure = null)
    {
        var builder = new EventSourcingBuilder().WithDomain().AddHandler(new MoneyDepositedHandler()).UseInMemory();
        configure?.Invoke(builder);
        return builder.Build();
    }

    public static IReadOnlyList<IEvent> Opening(string id = "acc-1") => [new AccountOpened(id, "Ada")];

    public static IEvent[] Deposits(int count, decimal amount = 10) => Enumerable.Range(0, count).Select(_ => (IEvent)new MoneyDeposited(amount)).ToArray();
}
