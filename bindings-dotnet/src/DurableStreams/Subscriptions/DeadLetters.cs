using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DurableStreams.Subscriptions;

/// <summary>One message of a <see cref="SubscriptionBatch"/>, as a dead-letter-aware handler sees it.</summary>
public readonly struct SubscriptionMessage
{
    internal SubscriptionMessage(SubscriptionBatch batch, int index, ReadOnlyMemory<byte> data)
    {
        Batch = batch;
        Index = index;
        Data = data;
    }

    /// <summary>The batch the message belongs to.</summary>
    public SubscriptionBatch Batch { get; }

    /// <summary>The stream-root-relative path of its stream.</summary>
    public string Stream => Batch.Stream;

    /// <summary>The message's position in its batch (0-based); with <see cref="SubscriptionBatch.Offset"/> it identifies the message.</summary>
    public int Index { get; }

    /// <summary>The message: its JSON text on a JSON stream, otherwise the batch's whole data.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The message decoded as UTF-8 text.</summary>
    public string Text => Encoding.UTF8.GetString(Data.Span);

    /// <summary>Deserializes the message with source-generated metadata.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="jsonTypeInfo">Deserialization metadata.</param>
    /// <returns>The value (null for a JSON <c>null</c>).</returns>
    /// <exception cref="JsonException">The message is not a valid <typeparamref name="T"/>.</exception>
    public T? ReadJson<T>(JsonTypeInfo<T> jsonTypeInfo) => JsonSerializer.Deserialize(Data.Span, jsonTypeInfo);
}

/// <summary>Settings of <see cref="DeadLetters.PerMessage"/>.</summary>
public sealed class DeadLetterOptions
{
    /// <summary>Creates the settings.</summary>
    /// <param name="deadLetterStream">A JSON stream (<c>application/json</c>) that receives the messages that keep failing.</param>
    public DeadLetterOptions(DurableStream deadLetterStream)
    {
        ArgumentNullException.ThrowIfNull(deadLetterStream);
        DeadLetterStream = deadLetterStream;
    }

    /// <summary>The stream dead letters are appended to.</summary>
    public DurableStream DeadLetterStream { get; }

    /// <summary>How many times a message is tried before it is dead-lettered (at least 1; 3 by default).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The pause between two attempts at one message (100 ms by default).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>
/// Dead letters for subscription workers: a message that fails <see cref="DeadLetterOptions.MaxAttempts"/>
/// times in a row is appended to a dead-letter stream with where it came from, and processing
/// moves past it, so one poisoned message cannot stall a subscription.
/// </summary>
public static class DeadLetters
{
    /// <summary>
    /// A batch handler (for <see cref="SubscriptionWorker.RunAsync"/>) that calls
    /// <paramref name="handler"/> for each message in order, retrying a failing one, and appends a
    /// message that still fails to the dead-letter stream as
    /// <c>{"source_stream", "source_offset", "index", "attempts", "error", "message"}</c>
    /// (<c>message</c> is the JSON message itself on a JSON stream, else <c>message_base64</c> holds
    /// the bytes), then goes on with the next. The batch is acked only once each of its messages was
    /// handled or dead-lettered; if the dead-letter append fails, the batch fails and is delivered
    /// again, so no message is lost. A crash between a dead-letter append and the ack can append
    /// the same dead letter twice: <c>source_stream</c>, <c>source_offset</c> and <c>index</c>
    /// identify it. Cancellation is not a failure: it stops the batch unacked.
    /// </summary>
    /// <param name="handler">Handles one message.</param>
    /// <param name="options">Where dead letters go and how often to try.</param>
    /// <returns>The batch handler.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="DeadLetterOptions.MaxAttempts"/> is below 1, or the delay is negative.</exception>
    public static Func<SubscriptionBatch, CancellationToken, ValueTask> PerMessage(Func<SubscriptionMessage, CancellationToken, ValueTask> handler, DeadLetterOptions options)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxAttempts, 1, nameof(options.MaxAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RetryDelay, TimeSpan.Zero, nameof(options.RetryDelay));
        var maxAttempts = options.MaxAttempts;
        var delay = options.RetryDelay;
        var target = options.DeadLetterStream;
        return async (batch, cancellationToken) =>
        {
            var messages = batch.Messages ?? [batch.Data];
            for (var index = 0; index < messages.Count; index++)
            {
                var message = new SubscriptionMessage(batch, index, messages[index]);
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await handler(message, cancellationToken).ConfigureAwait(false);
                        break;
                    }
                    catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                    {
                        if (attempt >= maxAttempts)
                        {
                            await target.AppendAsync(DeadLetter(message, attempt, e), cancellationToken: cancellationToken).ConfigureAwait(false);
                            break;
                        }
                        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        };
    }

    private static ReadOnlyMemory<byte> DeadLetter(SubscriptionMessage message, int attempts, Exception error)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("source_stream", message.Stream);
            writer.WriteString("source_offset", message.Batch.Offset.ToString());
            writer.WriteNumber("index", message.Index);
            writer.WriteNumber("attempts", attempts);
            writer.WriteString("error", $"{error.GetType().Name}: {error.Message}");
            if (message.Batch.IsJson)
            {
                writer.WritePropertyName("message");
                writer.WriteRawValue(message.Data.Span, skipInputValidation: true);
            }
            else
            {
                writer.WriteBase64String("message_base64", message.Data.Span);
            }
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
