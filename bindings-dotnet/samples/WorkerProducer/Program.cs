// A worker service that produces typed events to a durable stream with an idempotent producer.
//
//   DurableStreams__BaseUrl=http://127.0.0.1:4437/v1/stream dotnet run
//
// Configuration (appsettings.json, environment, command line): the "DurableStreams" section
// (BaseUrl, DefaultHeaders, MaxRetries, timeouts) and "Worker:StreamPath".
using System.Text.Json.Serialization;
using DurableStreams;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddDurableStreams();
builder.Services.AddHostedService<TelemetryProducer>();
builder.Build().Run();

/// <summary>Produces one reading per second until the host stops; the producer flushes on shutdown.</summary>
internal sealed class TelemetryProducer(DurableStreamClient client, IConfiguration configuration, ILogger<TelemetryProducer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stream = client.GetStream(configuration["Worker:StreamPath"] ?? "/worker/readings", WorkerJson.Default.Reading);
        await stream.CreateAsync(cancellationToken: stoppingToken);
        // A stable producer id (and epoch auto-claim) gives exactly-once delivery across restarts.
        await using var producer = stream.CreateProducer($"worker-{Environment.MachineName}", new IdempotentProducerOptions { AutoClaim = true });
        producer.OnError += (_, e) => logger.LogError(e.Exception, "Delivery failed for {Count} readings", e.MessageCount);
        var n = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                producer.Append(new Reading("sensor-1", Random.Shared.NextDouble() * 100, DateTimeOffset.UtcNow, n++));
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: DisposeAsync flushes what is buffered.
        }
        logger.LogInformation("Produced {Count} readings to {Url}", n, stream.Url);
    }
}

internal sealed record Reading(string Sensor, double Value, DateTimeOffset At, int Seq);

[JsonSerializable(typeof(Reading))]
internal sealed partial class WorkerJson : JsonSerializerContext;
