// GameStateStreaming: a game loop writes one GameState per tick to a typed stream through a
// producer; a spectator follows the tail live and stops after a number of ticks (the game is
// cancelled with it); a replay then reads every tick back from the start.
//   dotnet run --project bindings-dotnet/samples/S2/GameStateStreaming -- [endpoint] [access-token]
using System.Text.Json;
using System.Text.Json.Serialization;
using S2.Samples;
using S2.Samples.GameStateStreaming;
using S2.StreamStore;

const int SpectatedTicks = 25;
var tickInterval = TimeSpan.FromMilliseconds(20);

using var cts = SampleArgs.CancelOnCtrlC();
var ct = cts.Token;
var options = SampleArgs.Parse(args);
var basinName = SampleArgs.UniqueBasin("game-state");

await using var s2 = new S2Client(options);
Console.WriteLine($"S2 at {options.Endpoint?.ToString() ?? "S2 cloud"}");

try
{
    await s2.CreateBasinAsync(basinName, cancellationToken: ct);
    var basin = s2.Basin(basinName);
    await basin.CreateStreamAsync("match-1", cancellationToken: ct);
    Console.WriteLine($"created basin {basinName}, stream match-1");

    // Source-generated metadata: no reflection, so the sample also works trimmed or NativeAOT.
    using var stream = basin.Stream("match-1", GameJsonContext.Default.GameState);

    // One source cancels both the game loop and the live read session: the spectator ends the
    // game once it has seen enough, and the timeout guards against a sample that never ends.
    using var gameOver = CancellationTokenSource.CreateLinkedTokenSource(ct);
    gameOver.CancelAfter(TimeSpan.FromSeconds(30));

    // Opened before the first tick so it sees the game from sequence number 0 and then follows the tail.
    var session = await stream.OpenReadSessionAsync(new ReadSessionOptions { Start = ReadStart.FromSequence(0) }, ct);
    var spectator = Spectate(session, SpectatedTicks, gameOver);
    var written = await RunGame(stream, tickInterval, gameOver.Token);
    var seen = await spectator;
    Console.WriteLine($"spectator saw {seen} ticks live; the game wrote {written}");
    if (seen != SpectatedTicks)
    {
        throw new InvalidOperationException($"the spectator saw {seen} ticks, not {SpectatedTicks}");
    }

    // A replay is an ordinary bounded read: the count makes the session end by itself.
    ulong expected = 0;
    await foreach (var record in stream.ReadAllAsync(new ReadSessionOptions { Start = ReadStart.FromSequence(0), Count = written }, ct))
    {
        if (record.Value.Tick != expected || record.SequenceNumber != expected)
        {
            throw new InvalidOperationException($"replay: tick {record.Value.Tick} at seq {record.SequenceNumber}, expected {expected}");
        }
        expected++;
    }
    Console.WriteLine($"replay from seq 0: ticks 0..{expected - 1}, in order, none missing");
    if (expected != written)
    {
        throw new InvalidOperationException($"replay read {expected} ticks, expected {written}");
    }
}
catch (Exception e) when (e is S2Exception or InvalidOperationException or OperationCanceledException)
{
    Console.Error.WriteLine($"GameStateStreaming failed: {e.GetType().Name}: {e.Message}");
    Environment.ExitCode = 1;
}
finally
{
    try
    {
        await s2.DeleteBasinAsync(basinName, ignoreNotFound: true, CancellationToken.None);
        Console.WriteLine($"deleted basin {basinName}");
    }
    catch (S2Exception e)
    {
        Console.Error.WriteLine($"could not delete basin {basinName}: {e.Message}");
        Environment.ExitCode = 1;
    }
}

if (Environment.ExitCode == 0)
{
    Console.WriteLine("GameStateStreaming: ok");
}

// Writes one state per tick until the game is over; returns how many ticks were stored.
static async Task<ulong> RunGame(S2Stream<GameState> stream, TimeSpan tickInterval, CancellationToken gameOver)
{
    // MatchSeqNum 0: every batch must land where the previous one ended, so a retried batch is
    // never stored twice and a second writer cannot interleave.
    await using var producer = await stream.OpenProducerAsync(new ProducerOptions { Linger = TimeSpan.FromMilliseconds(5), MatchSeqNum = 0 }, gameOver);
    var players = new List<Player> { new("ada", 0, 0, 0), new("linus", 10, 10, 0) };
    ulong tick = 0;
    AppendReceipt? last = null;
    try
    {
        while (!gameOver.IsCancellationRequested)
        {
            players = players.Select(p => Step(p, tick)).ToList();
            var state = new GameState(tick, DateTimeOffset.UtcNow, players);
            last = await producer.AppendAsync(stream.ToRecord(state, [new RecordHeader("kind", "tick")]), cancellationToken: gameOver);
            tick++;
            await Task.Delay(tickInterval, gameOver);
        }
    }
    catch (OperationCanceledException) when (gameOver.IsCancellationRequested)
    {
        // The game is over: what was submitted is still sent by CloseAsync below.
    }
    await producer.CloseAsync(CancellationToken.None);
    if (last is not null)
    {
        Console.WriteLine($"game over after {tick} ticks; last tick stored at seq {(await last.Acknowledgement).Start.SequenceNumber}");
    }
    return tick;
}

// Prints ticks as they arrive until it has seen `ticks` of them, then ends the game.
static async Task<int> Spectate(ReadSession session, int ticks, CancellationTokenSource gameOver)
{
    var seen = 0;
    await using (session)
    {
        try
        {
            await foreach (var record in session.WithCancellation(gameOver.Token))
            {
                var state = record.Deserialize(GameJsonContext.Default.GameState);
                var board = string.Join(" ", state.Players.Select(p => $"{p.Name}@({p.X},{p.Y}) score {p.Score}"));
                Console.WriteLine($"  tick {state.Tick,3} seq {record.SequenceNumber,3}: {board}");
                if (++seen == ticks)
                {
                    // Ends the game and, through the same token, this session's wait for more.
                    await gameOver.CancelAsync();
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (gameOver.IsCancellationRequested)
        {
            // The timeout fired before enough ticks arrived; the caller reports it.
        }
    }
    return seen;
}

static Player Step(Player p, ulong tick) =>
    p with { X = p.X + (p.Name[0] < 'm' ? 1 : -1), Y = p.Y + (int)(tick % 3) - 1, Score = p.Score + (tick % 5 == 0 ? 10 : 0) };

namespace S2.Samples.GameStateStreaming
{
    internal sealed record Player(string Name, int X, int Y, int Score);

    internal sealed record GameState(ulong Tick, DateTimeOffset At, IReadOnlyList<Player> Players);

    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(GameState))]
    internal sealed partial class GameJsonContext : JsonSerializerContext
    {
    }
}
