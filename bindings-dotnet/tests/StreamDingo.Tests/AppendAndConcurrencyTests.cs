using StreamDingo.InMemory;
using StreamDingo.Tests.Domain;

namespace StreamDingo.Tests;

public sealed class AppendAndConcurrencyTests
{
    [Fact]
    public async Task Appended_events_are_read_back_in_order_with_consecutive_versions()
    {
        var dingo = Dingo.InMemory();
        var first = await dingo.Store.AppendEventsAsync("acc", ExpectedVersion.NoStream, Dingo.Opening());
        var second = await dingo.Store.AppendEventsAsync("acc", 1, Dingo.Deposits(3, 5));
        Assert.Equal((1, 1, false), (first.FirstVersion, first.LastVersion, first.Duplicate));
        Assert.Equal((2, 4), (second.FirstVersion, second.LastVersion));

        var events = new List<IEvent>();
        await foreach (var e in dingo.Store.ReadEventsAsync("acc"))
        {
            events.Add(e);
        }
        Assert.Equal([new AccountOpened("acc-1", "Ada"), new MoneyDeposited(5), new MoneyDeposited(5), new MoneyDeposited(5)], events);
        Assert.Equal(4, await dingo.Store.GetVersionAsync("acc"));

        var fromThree = new List<long>();
        await foreach (var envelope in dingo.Store.ReadEnvelopesAsync("acc", 3))
        {
            fromThree.Add(envelope.Version);
        }
        Assert.Equal([3L, 4L], fromThree);
    }

    [Fact]
    public async Task A_wrong_expected_version_is_a_ConcurrencyException_and_writes_nothing()
    {
        var dingo = Dingo.InMemory();
        await dingo.Store.AppendEventsAsync("acc", 0, Dingo.Opening());
        await dingo.Store.AppendEventsAsync("acc", 1, Dingo.Deposits(1));

        var e = await Assert.ThrowsAsync<ConcurrencyException>(async () => await dingo.Store.AppendEventsAsync("acc", 1, Dingo.Deposits(2, 99)));
        Assert.Equal(("acc", 1L, 2L), (e.StreamId, e.ExpectedVersion, e.ActualVersion));
        Assert.Contains("acc", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, await dingo.Store.GetVersionAsync("acc"));
        await foreach (var stored in dingo.Store.ReadEventsAsync("acc"))
        {
            Assert.NotEqual(new MoneyDeposited(99), stored);
        }

        var ahead = await Assert.ThrowsAsync<ConcurrencyException>(async () => await dingo.Store.AppendEventsAsync("acc", 7, Dingo.Deposits(1)));
        Assert.Equal((7L, 2L), (ahead.ExpectedVersion, ahead.ActualVersion));
    }

    [Fact]
    public async Task Racing_writers_at_one_version_produce_exactly_one_winner()
    {
        var dingo = Dingo.InMemory();
        await dingo.Store.AppendEventsAsync("acc", 0, Dingo.Opening());
        var writers = Enumerable.Range(1, 16).Select(n => Task.Run(async () =>
        {
            try
            {
                await dingo.Store.AppendEventsAsync("acc", 1, [new MoneyDeposited(n), new MoneyDeposited(n)]);
                return n;
            }
            catch (ConcurrencyException e)
            {
                Assert.Equal(3, e.ActualVersion);
                return -n;
            }
        })).ToArray();
        var outcomes = await Task.WhenAll(writers);
        var winner = Assert.Single(outcomes, o => o > 0);

        var amounts = new List<decimal>();
        await foreach (var e in dingo.Store.ReadEventsAsync("acc", 2))
        {
            amounts.Add(((MoneyDeposited)e).Amount);
        }
        Assert.Equal([winner, winner], amounts);
    }

    [Fact]
    public async Task A_retried_append_with_the_same_append_id_is_stored_once()
    {
        var dingo = Dingo.InMemory();
        var appendId = Guid.NewGuid();
        var first = await dingo.Store.AppendEventsAsync("acc", 0, Dingo.Opening(), appendId);
        var retry = await dingo.Store.AppendEventsAsync("acc", 0, Dingo.Opening(), appendId);
        Assert.False(first.Duplicate);
        Assert.True(retry.Duplicate);
        Assert.Equal((first.LastVersion, first.LastHash), (retry.LastVersion, retry.LastHash));
        Assert.Equal(1, await dingo.Store.GetVersionAsync("acc"));

        // A retry without an expected version is recognised as well.
        var any = Guid.NewGuid();
        await dingo.Store.AppendEventsAsync("acc", ExpectedVersion.Any, Dingo.Deposits(2), any);
        var anyRetry = await dingo.Store.AppendEventsAsync("acc", ExpectedVersion.Any, Dingo.Deposits(2), any);
        Assert.True(anyRetry.Duplicate);
        Assert.Equal(3, await dingo.Store.GetVersionAsync("acc"));

        // Another append with a new id at the old version is a real conflict.
        await Assert.ThrowsAsync<ConcurrencyException>(async () => await dingo.Store.AppendEventsAsync("acc", 0, Dingo.Opening(), Guid.NewGuid()));
    }

    [Fact]
    public async Task AppendEventAsync_without_expected_version_appends_after_the_tail()
    {
        var dingo = Dingo.InMemory();
        await dingo.Store.AppendEventAsync("acc", new AccountOpened("acc", "Ada"));
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => dingo.Store.AppendEventAsync("acc", new MoneyDeposited(1)).AsTask()));
        Assert.Equal(9, await dingo.Store.GetVersionAsync("acc"));
        Assert.Equal(8m, (await dingo.Aggregates.LoadAsync<Account>("acc")).State!.Balance);
    }

    [Fact]
    public async Task Null_events_are_rejected_with_ArgumentNullException()
    {
        var dingo = Dingo.InMemory();
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await dingo.Store.AppendEventsAsync("acc", 0, null!));
        var inList = await Assert.ThrowsAsync<ArgumentNullException>(async () => await dingo.Store.AppendEventsAsync("acc", 0, [new AccountOpened("a", "b"), null!]));
        Assert.Contains("events[1]", inList.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await dingo.Store.AppendEventAsync<MoneyDeposited>("acc", null!));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await dingo.Aggregates.AppendAsync<Account>("acc", 0, [null!]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await dingo.Store.AppendEventsAsync("acc", 0, []));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await dingo.Store.AppendEventsAsync("", 0, Dingo.Opening()));
        Assert.Equal(0, await dingo.Store.GetVersionAsync("acc"));
    }

    [Fact]
    public async Task An_unregistered_event_class_cannot_be_appended()
    {
        var dingo = new EventSourcingBuilder().WithDomain(withNoteType: false).AddHandler(new MoneyDepositedHandler()).UseInMemory().Build();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await dingo.Store.AppendEventsAsync("acc", 0, [new NoteAdded("x")]));
        Assert.Contains(nameof(NoteAdded), e.Message, StringComparison.Ordinal);
    }
}
