using System.Text.Json.Serialization;

namespace StreamDingo.Tests.Domain;

public sealed record Account
{
    public string Id { get; init; } = "";
    public string Owner { get; init; } = "";
    public decimal Balance { get; init; }
    public int Operations { get; init; }
}

public sealed record AccountOpened(string Id, string Owner) : IEvent;

public sealed record MoneyDeposited(decimal Amount) : IEvent;

public sealed record MoneyWithdrawn(decimal Amount) : IEvent;

/// <summary>An event no handler of Account reacts to.</summary>
public sealed record NoteAdded(string Text) : IEvent;

public sealed class AccountOpenedHandler : IEventHandler<Account, AccountOpened>
{
    public Account Handle(Account? previousSnapshot, AccountOpened @event) =>
        new() { Id = @event.Id, Owner = @event.Owner, Balance = 0, Operations = 1 };
}

public sealed class MoneyDepositedHandler : IEventHandler<Account, MoneyDeposited>
{
    public Account Handle(Account? previousSnapshot, MoneyDeposited @event)
    {
        var account = previousSnapshot ?? throw new InvalidOperationException("Deposit before the account was opened.");
        return account with { Balance = account.Balance + @event.Amount, Operations = account.Operations + 1 };
    }
}

public sealed class MoneyWithdrawnHandler : IEventHandler<Account, MoneyWithdrawn>
{
    public Account Handle(Account? previousSnapshot, MoneyWithdrawn @event)
    {
        var account = previousSnapshot ?? throw new InvalidOperationException("Withdrawal before the account was opened.");
        if (@event.Amount > account.Balance)
        {
            throw new InvalidOperationException($"Insufficient funds: balance {account.Balance}, withdrawal {@event.Amount}.");
        }
        return account with { Balance = account.Balance - @event.Amount, Operations = account.Operations + 1 };
    }
}

/// <summary>A second implementation of the deposit rule (a bonus on every deposit): "the handler changed".</summary>
public sealed class MoneyDepositedWithBonusHandler : IEventHandler<Account, MoneyDeposited>
{
    public Account Handle(Account? previousSnapshot, MoneyDeposited @event)
    {
        var account = previousSnapshot ?? throw new InvalidOperationException("Deposit before the account was opened.");
        return account with { Balance = account.Balance + @event.Amount + 1, Operations = account.Operations + 1 };
    }
}

[JsonSerializable(typeof(Account))]
[JsonSerializable(typeof(AccountOpened))]
[JsonSerializable(typeof(MoneyDeposited))]
[JsonSerializable(typeof(MoneyWithdrawn))]
[JsonSerializable(typeof(NoteAdded))]
public sealed partial class DomainJson : JsonSerializerContext
{
}
