// An ASP.NET Core endpoint that relays a durable stream to browsers as Server-Sent Events, with
// resumption: every event carries the stream offset as its SSE id, so a reconnecting EventSource
// sends it back in Last-Event-ID and the relay continues exactly where the browser left off.
//
//   DurableStreams__BaseUrl=http://127.0.0.1:4437/v1/stream dotnet run
//   open http://localhost:5000/            (a page with an EventSource)
//   curl -N http://localhost:5000/events/chat
//   curl -X POST http://localhost:5000/events/chat -H 'content-type: application/json' -d '{"user":"ann","text":"hi"}'
using System.Text;
using System.Text.Json.Serialization;
using DurableStreams;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddDurableStreams();
builder.Services.AddHealthChecks().AddDurableStreams();
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, SseJson.Default));
var app = builder.Build();

app.MapHealthChecks("/healthz");

app.MapPost("/events/{name}", async (string name, ChatMessage message, DurableStreamClient client, CancellationToken ct) =>
{
    var stream = client.GetStream($"/chat/{name}", SseJson.Default.ChatMessage);
    await stream.CreateAsync(cancellationToken: ct);
    var result = await stream.AppendAsync(message, ct);
    return Results.Ok(new AppendAck(result.Offset.Value));
});

app.MapGet("/events/{name}", async (string name, HttpContext http, DurableStreamClient client) =>
{
    var ct = http.RequestAborted;
    // Resume from the browser's last event id (EventSource reconnect) or ?offset=, else from the start.
    var resumeFrom = http.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? http.Request.Query["offset"].FirstOrDefault();
    var options = new StreamOptions
    {
        Offset = Offset.TryParse(resumeFrom, out var offset) ? offset : Offset.Beginning,
        Live = LiveMode.Auto,
    };
    var stream = client.GetStream($"/chat/{name}", SseJson.Default.ChatMessage);

    http.Response.ContentType = "text/event-stream";
    http.Response.Headers.CacheControl = "no-cache";
    try
    {
        await foreach (var batch in stream.ReadBatchesAsync(options, ct))
        {
            var sse = new StringBuilder();
            foreach (var message in batch.Items)
            {
                sse.Append("data: ").Append(System.Text.Json.JsonSerializer.Serialize(message, SseJson.Default.ChatMessage)).Append('\n');
            }
            // The id after the batch is the offset to resume from.
            sse.Append("id: ").Append(batch.Offset.Value).Append("\n\n");
            await http.Response.WriteAsync(sse.ToString(), ct);
            await http.Response.Body.FlushAsync(ct);
        }
    }
    catch (OperationCanceledException) when (ct.IsCancellationRequested)
    {
        // The browser went away; it resumes with Last-Event-ID.
    }
    catch (StreamNotFoundException)
    {
        if (!http.Response.HasStarted)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
        }
    }
});

app.MapGet("/", () => Results.Content("""
    <!doctype html><title>Durable Streams SSE relay</title>
    <ul id="log"></ul>
    <script>
      const source = new EventSource('/events/chat'); // reconnects with Last-Event-ID automatically
      source.onmessage = e => {
        const m = JSON.parse(e.data);
        const li = document.createElement('li');
        li.textContent = `${m.user}: ${m.text} (offset ${e.lastEventId})`;
        document.getElementById('log').append(li);
      };
    </script>
    """, "text/html"));

app.Run();

internal sealed record ChatMessage(string User, string Text);

internal sealed record AppendAck(string Offset);

[JsonSerializable(typeof(ChatMessage))]
[JsonSerializable(typeof(AppendAck))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class SseJson : JsonSerializerContext;
