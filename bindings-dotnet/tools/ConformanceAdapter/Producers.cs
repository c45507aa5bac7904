using System.Text.Json.Nodes;

namespace DurableStreams.ConformanceAdapter;

internal sealed partial class Adapter
{
    /// <summary>
    /// The producer of idempotent-append and idempotent-close for (path, producerId, epoch),
    /// created on first use and kept across commands so that its sequence numbers continue (a new
    /// producer with the same epoch would restart at sequence 0 and be taken for a duplicate).
    /// </summary>
    private ProducerEntry Producer(Command command, string path)
    {
        var producerId = command.RequireString("producerId");
        var epoch = command.OptionalLong("epoch") ?? 0;
        if (_producers.TryGetValue((path, producerId, epoch), out var entry))
        {
            return entry;
        }
        entry = new ProducerEntry(NewProducer(command, path, maxInFlight: null, oneBatch: false));
        _producers[(path, producerId, epoch)] = entry;
        return entry;
    }

    /// <summary>
    /// A new producer for the command's (path, producerId, epoch, autoClaim), not cached. With
    /// <paramref name="oneBatch"/> the messages wait for the flush (a long linger), so that the
    /// items of one command form one batch, as in the suite's adapters: a repeated command then
    /// sends the same batch under the same sequence number, which the server drops.
    /// </summary>
    private IdempotentProducer NewProducer(Command command, string path, int? maxInFlight, bool oneBatch)
    {
        var producerId = command.RequireString("producerId");
        var epoch = command.OptionalLong("epoch") ?? 0;
        var stream = Stream(command, path);
        var options = new IdempotentProducerOptions
        {
            Epoch = epoch,
            AutoClaim = command.Bool("autoClaim"),
            Linger = oneBatch ? TimeSpan.FromSeconds(1) : TimeSpan.Zero,
            MaxInFlight = maxInFlight ?? 1,
        };
        if (maxInFlight > 1)
        {
            // One message per batch, so that several batches really are in flight at once.
            options.MaxBatchItems = 1;
        }
        IdempotentProducer producer;
        try
        {
            producer = stream.CreateProducer(producerId, options);
        }
        catch (ArgumentException e)
        {
            throw new AdapterException(ErrorCodes.InvalidArgument, $"{ProtocolName(e.ParamName)}: {e.Message}", inner: e);
        }
        producer.OnError += (_, e) =>
            _log.WriteLine($"[adapter] producer {producerId}@{path} epoch {e.Epoch}: {e.Exception.Message}");
        return producer;
    }

    private async Task<JsonObject> IdempotentAppendAsync(Command command, CancellationToken token)
    {
        var path = command.RequireString("path");
        var data = Payload(command);
        var entry = Producer(command, path);
        Append(entry, data);
        await FlushAsync(command, path, entry, token).ConfigureAwait(false);
        return Replies.Success("idempotent-append")
            .With("status", 200)
            .With("offset", entry.Producer.LastAckedOffset?.Value)
            .With("producerSeq", LastSeq(entry.Producer));
    }

    private async Task<JsonObject> IdempotentAppendBatchAsync(Command command, CancellationToken token)
    {
        var path = command.RequireString("path");
        if (command.Get("items") is not { ValueKind: System.Text.Json.JsonValueKind.Array } items)
        {
            throw AdapterException.InvalidArgument("items", "must be an array of strings");
        }
        var messages = new List<byte[]>();
        foreach (var item in items.EnumerateArray())
        {
            var text = item.ValueKind switch
            {
                System.Text.Json.JsonValueKind.String => item.GetString()!,
                // Items given as objects ({"data": "..."}) by some runners.
                System.Text.Json.JsonValueKind.Object when item.TryGetProperty("data", out var d) && d.ValueKind == System.Text.Json.JsonValueKind.String => d.GetString()!,
                _ => throw AdapterException.InvalidArgument("items", "must be an array of strings"),
            };
            messages.Add(System.Text.Encoding.UTF8.GetBytes(text));
        }
        var maxInFlight = command.OptionalLong("maxInFlight");
        if (maxInFlight is < 1 or > int.MaxValue)
        {
            throw AdapterException.InvalidArgument("maxInFlight", "must be at least 1");
        }
        // A fresh producer per command, flushed and detached before the reply, as the suite's own
        // adapters do: the batch is sent from sequence 0 of its epoch, so a repeated command is a
        // duplicate the server drops (not a continuation stored twice), and the producer of
        // idempotent-append commands is left alone.
        var producer = NewProducer(command, path, (int?)maxInFlight, oneBatch: maxInFlight is null or 1);
        try
        {
            foreach (var message in messages)
            {
                producer.Append(message);
            }
            await producer.FlushAsync(token).ConfigureAwait(false);
            var producerSeq = LastSeq(producer);
            await producer.DetachAsync(token).ConfigureAwait(false);
            return Replies.Success("idempotent-append-batch")
                .With("status", 200)
                .With("producerSeq", producerSeq);
        }
        finally
        {
            await Task.WhenAny(DisposeQuietlyAsync(producer), Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        }
    }

    private async Task<JsonObject> IdempotentCloseAsync(Command command, CancellationToken token)
    {
        var path = command.RequireString("path");
        var data = Payload(command, required: false);
        var entry = Producer(command, path);
        try
        {
            await entry.Producer.CloseAsync(data, token).ConfigureAwait(false);
        }
        catch (StreamNotFoundException)
        {
            await ForgetProducerAsync(command, path).ConfigureAwait(false);
            throw;
        }
        entry.Closed = true;
        return Replies.Success("idempotent-close")
            .With("status", 200)
            .With("finalOffset", entry.Producer.LastAckedOffset?.Value);
    }

    private async Task<JsonObject> IdempotentDetachAsync(Command command, CancellationToken token)
    {
        var path = command.RequireString("path");
        var key = (path, command.RequireString("producerId"), command.OptionalLong("epoch") ?? 0);
        if (_producers.Remove(key, out var entry))
        {
            await entry.Producer.DetachAsync(token).ConfigureAwait(false);
            await DisposeQuietlyAsync(entry.Producer).ConfigureAwait(false);
        }
        return Replies.Success("idempotent-detach").With("status", 200);
    }

    /// <summary>
    /// Waits until everything appended is acknowledged. A producer whose stream does not exist
    /// wrote nothing: it is dropped, so that a later command (once the stream exists) starts afresh.
    /// Any other failure stays with the producer, as its state does.
    /// </summary>
    private async Task FlushAsync(Command command, string path, ProducerEntry entry, CancellationToken token)
    {
        try
        {
            await entry.Producer.FlushAsync(token).ConfigureAwait(false);
        }
        catch (StreamNotFoundException)
        {
            await ForgetProducerAsync(command, path).ConfigureAwait(false);
            throw;
        }
    }

    private async Task ForgetProducerAsync(Command command, string path)
    {
        var key = (path, command.RequireString("producerId"), command.OptionalLong("epoch") ?? 0);
        if (_producers.Remove(key, out var entry))
        {
            await Task.WhenAny(DisposeQuietlyAsync(entry.Producer), Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        }
    }

    /// <summary>Appends one message; a producer that closed the stream reports the closure as STREAM_CLOSED.</summary>
    private static void Append(ProducerEntry entry, byte[] message)
    {
        try
        {
            entry.Producer.Append(message);
        }
        catch (DurableStreamException e) when (e.Code == DurableStreamErrorCode.ProducerClosed && entry.Closed)
        {
            throw new AdapterException(ErrorCodes.StreamClosed, $"The producer closed the stream: {e.Message}", inner: e);
        }
    }

    /// <summary>The highest sequence number acknowledged in the producer's current epoch, if any.</summary>
    private static long? LastSeq(IdempotentProducer producer) => producer.NextSeq > 0 ? producer.NextSeq - 1 : null;

    /// <summary>The protocol's name for a package option (errors must name the parameter the runner sent).</summary>
    private static string ProtocolName(string? parameter) => parameter switch
    {
        "Epoch" => "epoch",
        "MaxBatchBytes" => "maxBatchBytes",
        "MaxBatchItems" => "maxBatchItems",
        "MaxInFlight" => "maxInFlight",
        "MaxRetries" => "maxRetries",
        "InitialRetryDelay" => "initialDelayMs",
        "MaxRetryDelay" => "maxDelayMs",
        "RetryMultiplier" => "multiplier",
        null or "" => "argument",
        var other => other,
    };
}
