// NativeAOT smoke test of DurableStreams (see AotSmoke.csproj). Usage: AotSmoke <base-url>
using System.Text.Json.Serialization;
using DurableStreams;
using Microsoft.Extensions.DependencyInjection;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: AotSmoke <base-url>");
    return 2;
}

var services = new ServiceCollection();
services.AddDurableStreams(o => o.BaseUrl = args[0]);
await using var provider = services.BuildServiceProvider();
var client = provider.GetRequiredService<DurableStreamClient>();

var stream = client.GetStream($"/aot-smoke/{Guid.NewGuid():N}", SmokeJson.Default.Reading);
await stream.CreateAsync();
await stream.AppendAsync(new Reading("a", 1.5));
await using (var producer = stream.CreateProducer("aot-smoke"))
{
    producer.Append(new Reading("b", 2.5));
    await producer.AppendAsync(new Reading("c", 3.5));
    await producer.FlushAsync();
}

var readings = new List<Reading>();
await foreach (var reading in stream.ReadAsync())
{
    readings.Add(reading!);
}
var text = string.Join(",", readings.Select(r => $"{r.Sensor}={r.Value}"));
Console.WriteLine(text);
if (text != "a=1.5,b=2.5,c=3.5")
{
    Console.Error.WriteLine("unexpected content");
    return 1;
}
Console.WriteLine($"AOT smoke OK (native core {DurableStreamClient.CoreVersion})");
return 0;

internal sealed record Reading(string Sensor, double Value);

[JsonSerializable(typeof(Reading))]
internal sealed partial class SmokeJson : JsonSerializerContext;
