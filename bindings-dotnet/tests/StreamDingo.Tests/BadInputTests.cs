using StreamDingo.InMemory;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

public sealed class BadInputTests
{
    [Fact]
    public async Task An_unknown_event_type_fails_by_default_naming_the_type_and_version()
    {
        var writer = Dingo.InMemory();
        await writer.Store.AppendEventsAsync("acc", 0, [new AccountOpened("acc", "Ada"), new NoteAdded("hello"), new MoneyDeposited(5)]);

        var reader = new EventSourcingBuilder().WithDomain(withNoteType: false).AddHandler(new MoneyDepositedHandler())
            .UseInMemory((InMemoryEventStore)writer.Store, new InMemorySnapshotStore()).Build();
        var e = await Assert.ThrowsAsync<UnknownEventTypeException>(async () => await reader.Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(("NoteAdded", 2L, "acc"), (e.EventType, e.Version, e.StreamId));
        Assert.Contains("'NoteAdded'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Event 2", e.Message, StringComparison.Ordinal);

        var skipping = new EventSourcingBuilder().WithDomain(withNoteType: false).AddHandler(new MoneyDepositedHandler())
            .UseInMemory((InMemoryEventStore)writer.Store, new InMemorySnapshotStore())
            .Configure(o => o.UnknownEventTypes = UnknownEventTypeHandling.Skip).Build();
        var loaded = await skipping.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((3L, 5m), (loaded.Version, loaded.State!.Balance));
    }

    [Fact]
    public async Task A_throwing_handler_on_append_names_handler_event_and_version_and_writes_nothing()
    {
        var dingo = Dingo.InMemory();
        await dingo.Aggregates.AppendAsync<Account>("acc", 0, [.. Dingo.Opening(), new MoneyDeposited(10)]);

        var e = await Assert.ThrowsAsync<EventHandlerException>(async () =>
            await dingo.Aggregates.AppendAsync<Account>("acc", 2, [new MoneyDeposited(5), new MoneyWithdrawn(100)]));
        Assert.Equal(typeof(MoneyWithdrawnHandler).FullName, e.HandlerName);
        Assert.Equal(("MoneyWithdrawn", 4L, "acc"), (e.EventType, e.Version, e.StreamId));
        Assert.IsType<InvalidOperationException>(e.InnerException);
        Assert.Contains("Insufficient funds", e.Message, StringComparison.Ordinal);

        Assert.Equal(2, await dingo.Store.GetVersionAsync("acc"));
        var state = await dingo.Aggregates.LoadAsync<Account>("acc");
        Assert.Equal((2L, 10m), (state.Version, state.State!.Balance));
    }

    [Fact]
    public async Task A_handler_throwing_during_replay_names_the_stored_event()
    {
        var dingo = Dingo.InMemory();
        // Written straight to the store, bypassing the handlers: a withdrawal the rules refuse.
        await dingo.Store.AppendEventsAsync("acc", 0, [new AccountOpened("acc", "Ada"), new MoneyDeposited(1), new MoneyWithdrawn(50)]);
        var e = await Assert.ThrowsAsync<EventHandlerException>(async () => await dingo.Aggregates.LoadAsync<Account>("acc"));
        Assert.Equal(("MoneyWithdrawn", 3L), (e.EventType, e.Version));
        Assert.Contains(nameof(MoneyWithdrawnHandler), e.HandlerName, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_are_validated_naming_the_property()
    {
        Assert.Equal("MaxAppendAttempts", Assert.Throws<ArgumentOutOfRangeException>(() => new StreamDingoOptions { MaxAppendAttempts = 0 }.Validate()).ParamName);
        Assert.Equal("MaxSnapshotsExamined", Assert.Throws<ArgumentOutOfRangeException>(() => new StreamDingoOptions { MaxSnapshotsExamined = 0 }.Validate()).ParamName);
        Assert.Equal("UnknownEventTypes", Assert.Throws<ArgumentOutOfRangeException>(() => new StreamDingoOptions { UnknownEventTypes = (UnknownEventTypeHandling)9 }.Validate()).ParamName);
        Assert.Throws<InvalidOperationException>(() => new EventSourcingBuilder().WithDomain().Build());
    }

    [Fact]
    public void A_handler_without_a_generated_hash_is_refused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new EventSourcingBuilder().AddHandler(new LambdaHandler()));
        Assert.Contains("build-time source hash", e.Message, StringComparison.Ordinal);
    }

    // Private: the generator cannot register it, as a handler it cannot see.
    private sealed class LambdaHandler : IEventHandler<Account, MoneyDeposited>
    {
        public Account Handle(Account? previousSnapshot, MoneyDeposited @event) => previousSnapshot ?? new Account();
    }
}
