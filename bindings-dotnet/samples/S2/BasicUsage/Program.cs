// BasicUsage: a basin and a stream, appends with headers, a unary read and a read session, the
// tail, a match_seq_num conflict, and cleanup.
//   dotnet run --project bindings-dotnet/samples/S2/BasicUsage -- [endpoint] [access-token]
using S2.Samples;
using S2.StreamStore;

using var cts = SampleArgs.CancelOnCtrlC();
var ct = cts.Token;
var options = SampleArgs.Parse(args);
var basinName = SampleArgs.UniqueBasin("basic-usage");

await using var s2 = new S2Client(options);
Console.WriteLine($"S2 at {options.Endpoint?.ToString() ?? "S2 cloud"} (native library {S2Client.NativeVersion})");

try
{
    await s2.CreateBasinAsync(basinName, cancellationToken: ct);
    Console.WriteLine($"created basin {basinName}");
    var basin = s2.Basin(basinName);
    await basin.CreateStreamAsync("greetings", cancellationToken: ct);
    Console.WriteLine("created stream greetings");

    using var stream = basin.Stream("greetings");

    // One atomic batch: the three records get consecutive sequence numbers or none is stored.
    var ack = await stream.AppendAsync(
        [
            new AppendRecord("hello", [new RecordHeader("lang", "en")]),
            new AppendRecord("bonjour", [new RecordHeader("lang", "fr")]),
            new AppendRecord("ola", [new RecordHeader("lang", "pt"), new RecordHeader("accent", "none")]),
        ],
        new AppendOptions { MatchSeqNum = 0 },
        ct);
    Console.WriteLine($"appended {ack.Count} records: seq {ack.Start.SequenceNumber}..{ack.End.SequenceNumber - 1}, tail {ack.Tail.SequenceNumber}");

    var batch = await stream.ReadAsync(new ReadOptions { Start = ReadStart.FromSequence(0) }, ct);
    Console.WriteLine($"unary read: {batch.Records.Count} records");
    foreach (var record in batch.Records)
    {
        var headers = string.Join(", ", record.Headers.Select(h => h.ToString()));
        Console.WriteLine($"  {record.SequenceNumber}: [{headers}] {record.BodyText} (at {DateTimeOffset.FromUnixTimeMilliseconds((long)record.Timestamp):O})");
    }
    Expect(batch.Records.Count == 3, "the unary read returned 3 records");

    // Count limits the session, so it ends by itself instead of following the tail.
    var readBack = new List<string>();
    await using (var session = await stream.OpenReadSessionAsync(new ReadSessionOptions { Start = ReadStart.FromSequence(1), Count = 2 }, ct))
    {
        await foreach (var record in session.WithCancellation(ct))
        {
            readBack.Add($"{record.SequenceNumber}:{string.Join(",", record.HeaderValues("lang"))}:{record.BodyText}");
        }
    }
    Console.WriteLine($"read session from seq 1, count 2: {string.Join(" ", readBack)}");
    Expect(readBack.SequenceEqual(["1:fr:bonjour", "2:pt:ola"]), "the read session returned records 1 and 2");

    var tail = await stream.CheckTailAsync(ct);
    Console.WriteLine($"tail: next sequence number {tail.SequenceNumber}");
    Expect(tail.SequenceNumber == 3, "the tail is 3");

    // A writer that believes the stream is still empty is refused; the server says where it is.
    try
    {
        await stream.AppendAsync(new AppendRecord("stale write"), new AppendOptions { MatchSeqNum = 0 }, ct);
        throw new InvalidOperationException("an append with a stale match_seq_num was accepted");
    }
    catch (SeqNumMismatchException e)
    {
        Console.WriteLine($"match_seq_num 0 refused: SeqNumMismatchException, expected {e.ExpectedSeqNum} (HTTP {e.StatusCode}, {e.Code})");
        Expect(e.ExpectedSeqNum == 3, "the server expected 3");
    }

    await basin.DeleteStreamAsync("greetings", cancellationToken: ct);
    Console.WriteLine("deleted stream greetings");
}
catch (Exception e) when (e is S2Exception or InvalidOperationException or OperationCanceledException)
{
    Console.Error.WriteLine($"BasicUsage failed: {e.GetType().Name}: {e.Message}");
    Environment.ExitCode = 1;
}
finally
{
    // CancellationToken.None: cleanup must run even after Ctrl+C.
    await DeleteBasinQuietly(s2, basinName);
}

if (Environment.ExitCode == 0)
{
    Console.WriteLine("BasicUsage: ok");
}

static void Expect(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException($"expected: {what}");
    }
}

static async Task DeleteBasinQuietly(S2Client s2, string basinName)
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
