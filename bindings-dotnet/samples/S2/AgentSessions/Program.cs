// AgentSessions: one stream per AI agent session. Each agent fences its stream, then writes its
// answer token by token through a producer carrying the fencing token, so a second writer on the
// same session is refused. A reader follows each session, disconnects mid-way, and resumes from
// the sequence number it saved: every token exactly once, in order.
//   dotnet run --project bindings-dotnet/samples/S2/AgentSessions -- [endpoint] [access-token]
using S2.Samples;
using S2.StreamStore;

string[][] answers =
[
    "Streams are append-only logs: every token gets the next sequence number , so a reader can always resume where it stopped .".Split(' '),
    "A fencing token makes one writer the owner of a session ; anyone else is refused until the fence changes .".Split(' '),
];

using var cts = SampleArgs.CancelOnCtrlC();
var ct = cts.Token;
var options = SampleArgs.Parse(args);
var basinName = SampleArgs.UniqueBasin("agent-sessions");

await using var s2 = new S2Client(options);
Console.WriteLine($"S2 at {options.Endpoint?.ToString() ?? "S2 cloud"}");

try
{
    await s2.CreateBasinAsync(basinName, cancellationToken: ct);
    Console.WriteLine($"created basin {basinName}");
    var basin = s2.Basin(basinName);

    // The sessions run side by side, as independent agents would; each reports when it is done.
    var results = await Task.WhenAll(answers.Select((tokens, i) => RunSession(basin, $"session-{i + 1}", tokens, ct)));
    foreach (var result in results)
    {
        Console.WriteLine(result);
    }
}
catch (Exception e) when (e is S2Exception or InvalidOperationException or OperationCanceledException)
{
    Console.Error.WriteLine($"AgentSessions failed: {e.GetType().Name}: {e.Message}");
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
    Console.WriteLine("AgentSessions: ok");
}

static async Task<string> RunSession(Basin basin, string name, string[] tokens, CancellationToken ct)
{
    await basin.CreateStreamAsync(name, cancellationToken: ct);
    using var stream = basin.Stream(name);

    // The reader starts first and follows the tail, like a UI waiting for the answer.
    var reader = ReadWithResume(stream, name, disconnectAfter: tokens.Length / 2, ct);
    await WriteAnswer(stream, name, tokens, ct);
    var (text, first, last) = await reader;

    var expected = string.Join(" ", tokens);
    if (text != expected)
    {
        throw new InvalidOperationException($"{name}: read back \"{text}\", expected \"{expected}\"");
    }
    return $"{name}: \"{text}\" (seq {first}..{last}, nothing lost or repeated)";
}

static async Task WriteAnswer(S2Stream stream, string name, string[] tokens, CancellationToken ct)
{
    // The fence is a command record: from now on only appends carrying this token are accepted
    // (36 bytes at most).
    var token = $"{name}-{Guid.NewGuid():N}"[..36];
    var fence = await stream.FenceAsync(token, cancellationToken: ct);
    Console.WriteLine($"{name}: agent fenced the stream with {token} (fence at seq {fence.Start.SequenceNumber})");

    // MatchSeqNum as well: a retried batch can never be stored twice.
    var producer = await stream.OpenProducerAsync(new ProducerOptions { FencingToken = token, MatchSeqNum = fence.End.SequenceNumber, Linger = TimeSpan.FromMilliseconds(2) }, ct);
    await using (producer)
    {
        for (var i = 0; i < tokens.Length; i++)
        {
            await producer.AppendAsync(new AppendRecord(tokens[i], [new RecordHeader("role", "assistant")]), cancellationToken: ct);
            if (i == tokens.Length / 2)
            {
                await SecondWriter(stream, name, ct);
            }
            // Tokens trickle in, as from a model, so the reader really follows the tail.
            await Task.Delay(10, ct);
        }
        await producer.AppendAsync(new AppendRecord("", [new RecordHeader("event", "done")]), cancellationToken: ct);
        await producer.CloseAsync(ct);
    }
    Console.WriteLine($"{name}: agent wrote {tokens.Length} tokens and the done marker");
}

// Another worker that picked up the same session: its own token is not the stream's.
static async Task SecondWriter(S2Stream stream, string name, CancellationToken ct)
{
    try
    {
        await stream.AppendAsync(new AppendRecord("interloper"), new AppendOptions { FencingToken = "other-worker" }, ct);
        throw new InvalidOperationException($"{name}: a second writer's append was accepted despite the fence");
    }
    catch (FencingTokenMismatchException e)
    {
        Console.WriteLine($"{name}: second writer refused: FencingTokenMismatchException (the stream's token is {e.ExpectedFencingToken})");
    }
}

// Reads `disconnectAfter` tokens, saves where it is, drops the session, then resumes from the
// saved sequence number until the done marker.
static async Task<(string Text, ulong First, ulong Last)> ReadWithResume(S2Stream stream, string name, int disconnectAfter, CancellationToken ct)
{
    var words = new List<string>();
    var seqs = new List<ulong>();
    ulong checkpoint = 0;

    // The fence is a command record, not part of the answer.
    await using (var session = await stream.OpenReadSessionAsync(new ReadSessionOptions { Start = ReadStart.FromSequence(0), IgnoreCommandRecords = true }, ct))
    {
        await foreach (var record in session.WithCancellation(ct))
        {
            words.Add(record.BodyText);
            seqs.Add(record.SequenceNumber);
            if (words.Count == disconnectAfter)
            {
                // What an application would persist: the next sequence number to read.
                checkpoint = record.SequenceNumber + 1;
                break;
            }
        }
    }
    Console.WriteLine($"{name}: reader got {words.Count} tokens, saved checkpoint {checkpoint}, disconnected");

    var done = false;
    await using (var session = await stream.OpenReadSessionAsync(new ReadSessionOptions { Start = ReadStart.FromSequence(checkpoint), IgnoreCommandRecords = true }, ct))
    {
        await foreach (var record in session.WithCancellation(ct))
        {
            if (record.HeaderValues("event").Contains("done"))
            {
                done = true;
                break;
            }
            words.Add(record.BodyText);
            seqs.Add(record.SequenceNumber);
        }
    }
    Console.WriteLine($"{name}: reader resumed at seq {checkpoint}, now has {words.Count} tokens");

    // Contiguous sequence numbers: nothing skipped at the checkpoint and nothing read twice.
    for (var i = 1; i < seqs.Count; i++)
    {
        if (seqs[i] != seqs[i - 1] + 1)
        {
            throw new InvalidOperationException($"{name}: seq {seqs[i - 1]} followed by {seqs[i]}");
        }
    }
    if (!done || seqs.Count == 0)
    {
        throw new InvalidOperationException($"{name}: the session ended without the done marker");
    }
    return (string.Join(" ", words), seqs[0], seqs[^1]);
}
