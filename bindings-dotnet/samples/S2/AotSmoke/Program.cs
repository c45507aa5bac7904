// NativeAOT smoke test of S2.StreamStore (see S2AotSmoke.csproj). Usage: S2AotSmoke <endpoint>
using System.Text.Json.Serialization;
using S2.Samples;
using S2.StreamStore;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: S2AotSmoke <endpoint>");
    return 2;
}

var options = SampleArgs.Parse(args);
var basinName = SampleArgs.UniqueBasin("aot-smoke");
await using var s2 = new S2Client(options);
try
{
    await s2.CreateBasinAsync(basinName);
    var basin = s2.Basin(basinName);
    await basin.CreateStreamAsync("readings");
    using var stream = basin.Stream("readings", SmokeJson.Default.Reading);
    await stream.AppendAsync(new Reading("a", 1.5));
    await using (var producer = await stream.OpenProducerAsync())
    {
        await producer.AppendAsync(stream.ToRecord(new Reading("b", 2.5)));
        await producer.AppendAsync(stream.ToRecord(new Reading("c", 3.5)), waitForAck: true);
    }

    var readings = new List<string>();
    await foreach (var record in stream.ReadAllAsync(new ReadSessionOptions { Start = ReadStart.FromSequence(0), Count = 3 }))
    {
        readings.Add($"{record.Value.Name}={record.Value.Value}");
    }
    var text = string.Join(',', readings);
    Console.WriteLine(text);
    return text == "a=1.5,b=2.5,c=3.5" ? 0 : 1;
}
finally
{
    await s2.DeleteBasinAsync(basinName, ignoreNotFound: true, CancellationToken.None);
}

/// <summary>A sensor reading.</summary>
internal sealed record Reading(string Name, double Value);

/// <summary>Source-generated JSON metadata: no reflection at run time.</summary>
[JsonSerializable(typeof(Reading))]
internal sealed partial class SmokeJson : JsonSerializerContext;
