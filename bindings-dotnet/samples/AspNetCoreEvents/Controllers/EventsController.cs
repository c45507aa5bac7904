using System.Runtime.CompilerServices;
using DurableStreams;
using Microsoft.AspNetCore.Mvc;

namespace AspNetCoreEvents.Controllers;

// --- from the documentation, unchanged ---
// Use in a controller
[ApiController]
[Route("api/[controller]")]
public class EventsController : ControllerBase
{
    private readonly DurableStreamClient _client;

    public EventsController(DurableStreamClient client) => _client = client;

    [HttpGet("{streamId}")]
    public async IAsyncEnumerable<MyEvent> GetEvents(
        string streamId,
        [FromQuery] string? offset,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var stream = _client.GetStream($"/events/{streamId}");

        await using var response = await stream.StreamAsync(new StreamOptions
        {
            Offset = offset != null ? new Offset(offset) : Offset.Beginning,
            Live = LiveMode.LongPoll
        }, ct);

        await foreach (var item in response.ReadJsonAsync<MyEvent>(ct))
        {
            yield return item!;
        }
    }
}
// --- end ---
