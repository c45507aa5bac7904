namespace StreamDingo.Tests.Versioned;

/// <summary>The second build of the handler: increments count double.</summary>
public sealed class TallyHandler : IEventHandler<Tally, Incremented>
{
    public Tally Handle(Tally? previousSnapshot, Incremented @event)
    {
        var tally = previousSnapshot ?? new Tally(0, 0);
        return new Tally(tally.Total + @event.By * 2, tally.Count + 1);
    }
}
