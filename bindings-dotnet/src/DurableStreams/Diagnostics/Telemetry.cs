using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using static DurableStreams.DurableStreamsDiagnostics;

namespace DurableStreams.Diagnostics;

/// <summary>Where an operation goes, for tags and log fields (never a query string or user info).</summary>
internal sealed class TelemetryTarget
{
    internal TelemetryTarget(string url)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            ServerAddress = uri.Host;
            ServerPort = uri.Port;
            Path = uri.AbsolutePath;
            SafeUrl = Redaction.Url(uri.GetLeftPart(UriPartial.Path));
        }
        else
        {
            ServerAddress = string.Empty;
            Path = string.Empty;
            SafeUrl = string.Empty;
        }
    }

    public string ServerAddress { get; }

    public int ServerPort { get; }

    /// <summary>The stream path (<c>messaging.destination.name</c>).</summary>
    public string Path { get; }

    /// <summary>The URL without query string or user info (for logs).</summary>
    public string SafeUrl { get; }
}

/// <summary>The library's ActivitySource, Meter and instruments, and helpers to record an operation.</summary>
internal static class Telemetry
{
    private static readonly string s_version =
        typeof(Telemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "0";

    internal static readonly ActivitySource Source = new(ActivitySourceName, s_version);
    internal static readonly Meter Meter = new(MeterName, s_version);

    internal static readonly Counter<long> Operations = Meter.CreateCounter<long>(Instruments.Operations, "{operation}", "Completed Durable Streams operations.");
    internal static readonly Histogram<double> OperationDuration = Meter.CreateHistogram<double>(Instruments.OperationDuration, "s", "Duration of Durable Streams operations.");
    internal static readonly Counter<long> Appends = Meter.CreateCounter<long>(Instruments.Appends, "{append}", "Successful appends.");
    internal static readonly Counter<long> AppendedBytes = Meter.CreateCounter<long>(Instruments.AppendedBytes, "By", "Bytes sent by successful appends.");
    internal static readonly Counter<long> Errors = Meter.CreateCounter<long>(Instruments.Errors, "{error}", "Failed operations, read sessions and producer deliveries.");
    internal static readonly Counter<long> ProducerMessages = Meter.CreateCounter<long>(Instruments.ProducerMessages, "{message}", "Messages accepted by idempotent producers.");
    internal static readonly Counter<long> ProducerBytes = Meter.CreateCounter<long>(Instruments.ProducerBytes, "By", "Bytes accepted by idempotent producers.");
    internal static readonly Counter<long> ProducerFlushes = Meter.CreateCounter<long>(Instruments.ProducerFlushes, "{flush}", "Producer flushes and closes.");
    internal static readonly Counter<long> ProducerFailedMessages = Meter.CreateCounter<long>(Instruments.ProducerFailedMessages, "{message}", "Messages producers failed to deliver.");
    internal static readonly Counter<long> ProducerBatches = Meter.CreateCounter<long>(Instruments.ProducerBatches, "{batch}", "Producer batches acknowledged by the server.");
    internal static readonly Histogram<double> ProducerBatchDuration = Meter.CreateHistogram<double>(Instruments.ProducerBatchDuration, "s", "Time from a producer batch's first send to its acknowledgement.");
    internal static readonly Counter<long> ProducerFenced = Meter.CreateCounter<long>(Instruments.ProducerFenced, "{fence}", "Producers fenced by a newer epoch.");
    internal static readonly Counter<long> Retries = Meter.CreateCounter<long>(Instruments.Retries, "{retry}", "Retries after transient failures.");
    internal static readonly Counter<long> ReadDroppedConnections = Meter.CreateCounter<long>(Instruments.ReadDroppedConnections, "{connection}", "Live read connections that broke.");
    internal static readonly Counter<long> ReadReconnects = Meter.CreateCounter<long>(Instruments.ReadReconnects, "{reconnect}", "Live read reconnections.");
    internal static readonly Counter<long> ReadSessions = Meter.CreateCounter<long>(Instruments.ReadSessions, "{session}", "Read sessions started.");
    internal static readonly Counter<long> ReadChunks = Meter.CreateCounter<long>(Instruments.ReadChunks, "{chunk}", "Chunks delivered by read sessions.");
    internal static readonly Counter<long> ReadBytes = Meter.CreateCounter<long>(Instruments.ReadBytes, "By", "Bytes delivered by read sessions.");
    internal static readonly Counter<long> ReadMessages = Meter.CreateCounter<long>(Instruments.ReadMessages, "{message}", "JSON messages delivered by read sessions.");
    internal static readonly Histogram<double> ReadLiveWait = Meter.CreateHistogram<double>(Instruments.ReadLiveWait, "s", "Wait for new data by live read sessions that had caught up.");

    /// <summary>Live producers, for the observable gauges (weak: an abandoned producer is still collected).</summary>
    private static readonly ConditionalWeakTable<IdempotentProducer, object> s_producers = new();

    static Telemetry()
    {
        Meter.CreateObservableGauge(Instruments.ProducerInFlightBatches, () => SumProducers(static p => p.InFlightCount), "{batch}", "Producer batches sent and not yet acknowledged.");
        Meter.CreateObservableGauge(Instruments.ProducerPendingMessages, () => SumProducers(static p => p.PendingCount), "{message}", "Producer messages not yet acknowledged.");
    }

    internal static void RegisterProducer(IdempotentProducer producer) => s_producers.AddOrUpdate(producer, producer.ProducerId);

    internal static void UnregisterProducer(IdempotentProducer producer) => s_producers.Remove(producer);

    private static long SumProducers(Func<IdempotentProducer, int> value)
    {
        long sum = 0;
        foreach (var (producer, _) in s_producers)
        {
            try
            {
                sum += value(producer);
            }
            catch (ObjectDisposedException)
            {
                // Disposed concurrently.
            }
        }
        return sum;
    }

    /// <summary>The <c>error.type</c> of an exception: the native code (e.g. <c>NOT_FOUND</c>) or the exception type.</summary>
    internal static string ErrorType(Exception e) => e switch
    {
        DurableStreamException { CodeName: { } code } => code,
        DurableStreamException d => d.Code.ToString(),
        _ => e.GetType().FullName ?? e.GetType().Name,
    };

    internal static bool NativeEventsEnabled =>
        ProducerBatches.Enabled || ProducerBatchDuration.Enabled || ProducerFenced.Enabled || Retries.Enabled
        || ReadDroppedConnections.Enabled || ReadReconnects.Enabled;

    internal static bool OperationsEnabled =>
        Operations.Enabled || OperationDuration.Enabled || Errors.Enabled || Appends.Enabled || AppendedBytes.Enabled || Source.HasListeners();

    /// <summary>
    /// Starts an activity without making it current for the caller (the operation's methods are
    /// not async: an Activity.Current set here would leak into the caller's context).
    /// </summary>
    internal static Activity? StartDetached(string operation, ActivityKind kind, TelemetryTarget target, string operationType)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        var previous = Activity.Current;
        var activity = Source.StartActivity(string.IsNullOrEmpty(target.Path) ? operation : $"{operation} {target.Path}", kind);
        Activity.Current = previous;
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", MessagingSystem);
            activity.SetTag("messaging.operation.name", operation);
            activity.SetTag("messaging.operation.type", operationType);
            activity.SetTag("messaging.destination.name", target.Path);
            activity.SetTag("server.address", target.ServerAddress);
            activity.SetTag("server.port", target.ServerPort);
        }
        return activity;
    }

    /// <summary>Marks an activity failed (OpenTelemetry conventions: error.type, status, HTTP status).</summary>
    internal static void Fail(Activity? activity, Exception e)
    {
        if (activity is null)
        {
            return;
        }
        activity.SetTag("error.type", ErrorType(e));
        if (e is DurableStreamException { StatusCode: { } status })
        {
            activity.SetTag("http.response.status_code", status);
        }
        activity.SetStatus(ActivityStatusCode.Error, Redaction.Text(e.Message));
    }

    /// <summary>
    /// Begins a single-request operation: an activity, the operation counter and duration, error
    /// counting and logging (see <see cref="OperationScope.End{T}"/>). Inert when nothing listens.
    /// </summary>
    internal static OperationScope Begin(string operation, DurableStream stream, long bytes)
    {
        var logger = stream.Client.Logger;
        if (!OperationsEnabled && logger is null)
        {
            return default;
        }
        var target = stream.Target;
        var kind = operation == "append" ? ActivityKind.Producer : ActivityKind.Client;
        var activity = StartDetached(operation, kind, target, operation == "append" ? "send" : operation);
        if (activity is not null && bytes > 0)
        {
            activity.SetTag("messaging.message.body.size", bytes);
        }
        return new OperationScope(operation, target, logger, activity, Stopwatch.GetTimestamp(), bytes);
    }

    /// <summary>An operation begun by <see cref="Begin"/>.</summary>
    internal readonly struct OperationScope
    {
        private readonly string? _operation;
        private readonly TelemetryTarget? _target;
        private readonly ILogger? _logger;
        private readonly Activity? _activity;
        private readonly long _started;
        private readonly long _bytes;

        internal OperationScope(string operation, TelemetryTarget target, ILogger? logger, Activity? activity, long started, long bytes)
        {
            _operation = operation;
            _target = target;
            _logger = logger;
            _activity = activity;
            _started = started;
            _bytes = bytes;
        }

        /// <summary>Records the outcome of <paramref name="task"/> when it completes; returns it unchanged when inert.</summary>
        internal Task<T> End<T>(Task<T> task) =>
            _operation is null ? task : Await(task, _operation, _target!, _logger, _activity, _started, _bytes);
    }

    private static async Task<T> Await<T>(Task<T> task, string operation, TelemetryTarget target, ILogger? logger, Activity? activity, long started, long bytes)
    {
        try
        {
            var result = await task.ConfigureAwait(false);
            Complete(operation, target, logger, activity, started, bytes, null);
            return result;
        }
        catch (Exception e)
        {
            Complete(operation, target, logger, activity, started, bytes, e);
            throw;
        }
    }

    private static void Complete(string operation, TelemetryTarget target, ILogger? logger, Activity? activity, long started, long bytes, Exception? error)
    {
        var tags = new TagList
        {
            { "durablestreams.operation", operation },
            { "server.address", target.ServerAddress },
        };
        if (error is not null)
        {
            tags.Add("error.type", ErrorType(error));
            Fail(activity, error);
            var errorTags = tags;
            if (error is DurableStreamException { StatusCode: { } status })
            {
                errorTags.Add("http.response.status_code", status);
            }
            Errors.Add(1, errorTags);
            if (logger is not null)
            {
                Log.OperationFailed(logger, operation, target.SafeUrl, error);
            }
        }
        else if (operation == "append")
        {
            Appends.Add(1, new KeyValuePair<string, object?>("server.address", target.ServerAddress));
            AppendedBytes.Add(bytes, new KeyValuePair<string, object?>("server.address", target.ServerAddress));
        }
        Operations.Add(1, tags);
        OperationDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        activity?.Dispose();
    }
}
