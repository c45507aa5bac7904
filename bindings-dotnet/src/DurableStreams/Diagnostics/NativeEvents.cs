using System.Collections;
using System.Diagnostics;
using System.Globalization;
using DurableStreams.Interop;
using Microsoft.Extensions.Logging;

namespace DurableStreams.Diagnostics;

/// <summary>
/// Routes what the native core does on its own (retries and their backoff, dropped SSE
/// connections and reconnects, producer batches, fencing, epoch claims) to the client's
/// <see cref="ILogger"/> and to the <c>DurableStreams</c> meter. The core never puts header
/// values or decorations into events; URLs quoted in messages and fields (e.g. an error text)
/// are cleaned by <see cref="Redaction"/> before anything is logged or traced.
/// </summary>
internal sealed class NativeEvents : INativeEventHandler
{
    private readonly ILogger? _logger;

    /// <summary>A router for one client (installed by <see cref="NativeClient.Create"/>, which owns it from then on).</summary>
    internal NativeEvents(ILogger? logger) => _logger = logger;

    /// <inheritdoc/>
    public void OnEvent(in NativeEvent e)
    {
        var logLevel = e.Level switch
        {
            NativeEventLevel.Debug => LogLevel.Debug,
            NativeEventLevel.Information => LogLevel.Information,
            NativeEventLevel.Warning => LogLevel.Warning,
            NativeEventLevel.Error => LogLevel.Error,
            _ => LogLevel.Information,
        };
        if (_logger is null && !Telemetry.NativeEventsEnabled && !Telemetry.Source.HasListeners())
        {
            return; // nobody listens: decode nothing
        }
        var kind = e.Kind;
        // A failed batch is logged with its exception by the producer's error path already.
        var log = _logger is not null && kind != "batch_failed" && _logger.IsEnabled(logLevel);
        var trace = kind == "batch_sent" && Telemetry.Source.HasListeners();
        if (!log && !trace && !Telemetry.NativeEventsEnabled)
        {
            return;
        }
        var fields = e.ReadFields();
        for (var i = 0; i < fields.Length; i++)
        {
            // An error text may quote the request URL (query values included): clean it.
            fields[i] = new(fields[i].Key, Redaction.Text(fields[i].Value));
        }
        Record(kind, fields);
        var url = Redaction.Url(e.StreamUrl);
        if (trace)
        {
            TraceBatch(url, fields);
        }
        if (log)
        {
            var state = new EventState(kind, url, Redaction.Text(e.Message), fields);
            _logger!.Log(logLevel, EventIdOf(kind), state, null, static (s, _) => s.Message);
        }
    }

    /// <summary>
    /// A <c>send</c> activity (kind Producer) per acknowledged batch, spanning its first send to
    /// its acknowledgement. It is recorded after the fact on a native thread, so it has no parent.
    /// </summary>
    private static void TraceBatch(string url, KeyValuePair<string, string>[] fields)
    {
        if (!double.TryParse(Find(fields, "duration_ms"), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
        {
            return;
        }
        var end = DateTimeOffset.UtcNow;
        var target = new TelemetryTarget(url);
        var previous = Activity.Current;
        var activity = Telemetry.Source.StartActivity(
            $"send {target.Path}", ActivityKind.Producer, parentContext: default, startTime: end - TimeSpan.FromMilliseconds(ms));
        Activity.Current = previous;
        if (activity is null)
        {
            return;
        }
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("messaging.system", DurableStreamsDiagnostics.MessagingSystem);
            activity.SetTag("messaging.operation.name", "send");
            activity.SetTag("messaging.operation.type", "send");
            activity.SetTag("messaging.destination.name", target.Path);
            activity.SetTag("server.address", target.ServerAddress);
            activity.SetTag("server.port", target.ServerPort);
            activity.SetTag("messaging.batch.message_count", long.TryParse(Find(fields, "messages"), CultureInfo.InvariantCulture, out var n) ? n : null);
            activity.SetTag("messaging.message.body.size", long.TryParse(Find(fields, "bytes"), CultureInfo.InvariantCulture, out var b) ? b : null);
            activity.SetTag("durablestreams.producer.id", Find(fields, "producer_id"));
            activity.SetTag("durablestreams.producer.epoch", Find(fields, "epoch"));
            activity.SetTag("durablestreams.producer.seq", Find(fields, "seq"));
            activity.SetTag("durablestreams.producer.attempts", Find(fields, "attempts"));
        }
        activity.SetEndTime(end.UtcDateTime);
        activity.Stop();
    }

    private static void Record(string kind, KeyValuePair<string, string>[] fields)
    {
        switch (kind)
        {
            case "retry":
                Telemetry.Retries.Add(1, FailureTags(Find(fields, "operation") ?? "unknown", fields));
                break;
            case "batch_retry":
                Telemetry.Retries.Add(1, FailureTags("producer-batch", fields));
                break;
            case "batch_sent":
                Telemetry.ProducerBatches.Add(1, new KeyValuePair<string, object?>("durablestreams.producer.duplicate", Find(fields, "duplicate") == "true"));
                if (double.TryParse(Find(fields, "duration_ms"), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
                {
                    Telemetry.ProducerBatchDuration.Record(ms / 1000.0);
                }
                break;
            case "fenced":
                Telemetry.ProducerFenced.Add(1, new KeyValuePair<string, object?>("durablestreams.producer.auto_claim", Find(fields, "auto_claim") == "true"));
                break;
            case "connection_dropped":
                Telemetry.ReadDroppedConnections.Add(1, new KeyValuePair<string, object?>("error.type", Find(fields, "error_kind")));
                break;
            case "reconnect":
                Telemetry.ReadReconnects.Add(1, new KeyValuePair<string, object?>("durablestreams.read.reason", Find(fields, "reason")));
                break;
        }
    }

    private static TagList FailureTags(string operation, KeyValuePair<string, string>[] fields)
    {
        var tags = new TagList
        {
            { "durablestreams.operation", operation },
            { "error.type", Find(fields, "error_kind") },
        };
        if (int.TryParse(Find(fields, "status"), NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            tags.Add("http.response.status_code", status);
        }
        return tags;
    }

    private static string? Find(KeyValuePair<string, string>[] fields, string key)
    {
        foreach (var (k, v) in fields)
        {
            if (k == key)
            {
                return v;
            }
        }
        return null;
    }

    private static readonly EventId s_retry = new(20, "Retry");
    private static readonly EventId s_connectionDropped = new(21, "ConnectionDropped");
    private static readonly EventId s_reconnect = new(22, "Reconnect");
    private static readonly EventId s_batchSent = new(23, "BatchSent");
    private static readonly EventId s_batchRetry = new(24, "BatchRetry");
    private static readonly EventId s_fenced = new(26, "Fenced");
    private static readonly EventId s_epochClaimed = new(27, "EpochClaimed");
    private static readonly EventId s_other = new(29, "NativeEvent");

    /// <summary>Stable event ids per kind (20-29), so log filters can select them.</summary>
    private static EventId EventIdOf(string kind) => kind switch
    {
        "retry" => s_retry,
        "connection_dropped" => s_connectionDropped,
        "reconnect" => s_reconnect,
        "batch_sent" => s_batchSent,
        "batch_retry" => s_batchRetry,
        "fenced" => s_fenced,
        "epoch_claimed" => s_epochClaimed,
        _ => s_other,
    };

    /// <summary>
    /// The structured state of a log record: <c>Kind</c>, <c>StreamUrl</c> and each native field
    /// under its PascalCase name (<c>backoff_ms</c> → <c>BackoffMs</c>), integers as <see cref="long"/>,
    /// booleans as <see cref="bool"/>, other values as text.
    /// </summary>
    private sealed class EventState(string kind, string streamUrl, string message, KeyValuePair<string, string>[] fields)
        : IReadOnlyList<KeyValuePair<string, object?>>
    {
        internal string Message { get; } = message;

        public int Count => fields.Length + 3;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("Kind", kind),
            1 => new("StreamUrl", streamUrl),
            _ when index - 2 < fields.Length => new(PascalCase(fields[index - 2].Key), Typed(fields[index - 2].Value)),
            _ when index - 2 == fields.Length => new("{OriginalFormat}", Message.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal)),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => Message;

        private static object Typed(string value) =>
            long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? number
            : value == "true" ? true
            : value == "false" ? false
            : value;

        private static string PascalCase(string snake)
        {
            var parts = snake.Split('_', StringSplitOptions.RemoveEmptyEntries);
            return string.Concat(parts.Select(static p => char.ToUpperInvariant(p[0]) + p[1..]));
        }
    }
}
