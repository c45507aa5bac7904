using System.Text.Json.Nodes;

namespace DurableStreams.ConformanceAdapter;

internal sealed partial class Adapter
{
    /// <summary>
    /// <c>validate</c>: builds the package's options from the target and lets the package check
    /// them (constructing a client or a producer; no network I/O). Errors name the protocol's
    /// parameter.
    /// </summary>
    private async Task<JsonObject> ValidateAsync(Command command)
    {
        var target = command.Nested("target", "target");
        switch (target.Type)
        {
            case "retry-options":
                ValidateRetryOptions(target);
                break;
            case "idempotent-producer":
                await ValidateProducerAsync(target).ConfigureAwait(false);
                break;
            default:
                return Replies.Error("validate", ErrorCodes.NotSupported, $"Unknown validation target \"{target.Type}\".");
        }
        return Replies.Success("validate");
    }

    private void ValidateRetryOptions(Command target)
    {
        var options = new DurableStreamClientOptions { BaseUrl = _serverUrl ?? "http://127.0.0.1:9" };
        if (target.OptionalLong("maxRetries") is { } retries)
        {
            options.MaxRetries = retries is < int.MinValue or > int.MaxValue
                ? throw AdapterException.InvalidArgument("maxRetries", $"is out of range: {retries}")
                : (int)retries;
        }
        if (target.OptionalDouble("initialDelayMs") is { } initial)
        {
            options.InitialRetryDelay = Milliseconds(initial, "initialDelayMs");
        }
        if (target.OptionalDouble("maxDelayMs") is { } max)
        {
            options.MaxRetryDelay = Milliseconds(max, "maxDelayMs");
        }
        if (target.OptionalDouble("multiplier") is { } multiplier)
        {
            options.RetryMultiplier = multiplier;
        }
        try
        {
            using var client = new DurableStreamClient(options);
        }
        catch (ArgumentException e)
        {
            throw new AdapterException(ErrorCodes.InvalidArgument, $"{ProtocolName(e.ParamName)}: {e.Message}", inner: e);
        }
    }

    private async Task ValidateProducerAsync(Command target)
    {
        var options = new IdempotentProducerOptions();
        if (target.OptionalLong("epoch") is { } epoch)
        {
            options.Epoch = epoch;
        }
        if (target.OptionalLong("maxBatchBytes") is { } bytes)
        {
            options.MaxBatchBytes = bytes is < int.MinValue or > int.MaxValue
                ? throw AdapterException.InvalidArgument("maxBatchBytes", $"is out of range: {bytes}")
                : (int)bytes;
        }
        if (target.OptionalLong("maxBatchItems") is { } items)
        {
            options.MaxBatchItems = items is < int.MinValue or > int.MaxValue
                ? throw AdapterException.InvalidArgument("maxBatchItems", $"is out of range: {items}")
                : (int)items;
        }
        var producerId = target.OptionalString("producerId") ?? "conformance-validate";
        using var client = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = _serverUrl ?? "http://127.0.0.1:9" });
        IdempotentProducer producer;
        try
        {
            producer = client.GetStream("/conformance-validate").CreateProducer(producerId, options);
        }
        catch (ArgumentException e)
        {
            throw new AdapterException(ErrorCodes.InvalidArgument, $"{ProtocolName(e.ParamName)}: {e.Message}", inner: e);
        }
        await DisposeQuietlyAsync(producer).ConfigureAwait(false);
    }

    private static TimeSpan Milliseconds(double value, string field)
    {
        if (!double.IsFinite(value) || Math.Abs(value) > TimeSpan.MaxValue.TotalMilliseconds / 2)
        {
            throw AdapterException.InvalidArgument(field, $"is out of range: {value}");
        }
        return TimeSpan.FromMilliseconds(value);
    }
}
