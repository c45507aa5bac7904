using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace S2.StreamStore.Diagnostics;

/// <summary>The library's ActivitySource, Meter and instruments, and the wrapper that reports one operation to them and to the logger.</summary>
internal static class Telemetry
{
    internal static readonly ActivitySource Source = new(S2Diagnostics.ActivitySourceName, typeof(Telemetry).Assembly.GetName().Version?.ToString());

    internal static readonly Meter Meter = new(S2Diagnostics.MeterName, typeof(Telemetry).Assembly.GetName().Version?.ToString());

    internal static readonly Counter<long> Operations = Meter.CreateCounter<long>(S2Diagnostics.Instruments.Operations, "{operation}", "Completed S2 operations.");

    internal static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(S2Diagnostics.Instruments.OperationDuration, "s", "Duration of S2 operations.");

    internal static readonly Counter<long> AppendedRecords = Meter.CreateCounter<long>(S2Diagnostics.Instruments.AppendedRecords, "{record}", "Records appended and acknowledged.");

    internal static readonly Counter<long> ReadRecords = Meter.CreateCounter<long>(S2Diagnostics.Instruments.ReadRecords, "{record}", "Records read.");

    internal static readonly Counter<long> SessionErrors = Meter.CreateCounter<long>(S2Diagnostics.Instruments.SessionErrors, "{error}", "Failures of append sessions, producers and read sessions.");

    /// <summary>Runs one operation: an activity, the counters, and a debug log on failure.</summary>
    internal static async Task<T> Run<T>(ILogger logger, string operation, string? basin, string? stream, Task<T> task)
    {
        using var activity = Source.StartActivity("s2." + operation, ActivityKind.Client);
        if (activity is not null)
        {
            activity.SetTag("messaging.system", S2Diagnostics.MessagingSystem);
            activity.SetTag("s2.basin", basin);
            activity.SetTag("s2.stream", stream);
        }
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await task.ConfigureAwait(false);
            Record(operation, started, null);
            return result;
        }
        catch (Exception e)
        {
            var type = ErrorType(e);
            Record(operation, started, type);
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            activity?.SetTag("error.type", type);
            Log.OperationFailed(logger, operation, basin, stream, type, e);
            throw;
        }
    }

    /// <summary>A session or producer failure: counted and logged.</summary>
    internal static void SessionFailed(ILogger logger, string what, string basin, string stream, Exception e)
    {
        var type = ErrorType(e);
        SessionErrors.Add(1, new KeyValuePair<string, object?>("error.type", type));
        Log.SessionFailed(logger, what, basin, stream, type, e);
    }

    internal static string ErrorType(Exception e) => e switch
    {
        S2Exception s2 => s2.Kind.ToString(),
        OperationCanceledException => "Cancelled",
        _ => e.GetType().Name,
    };

    private static void Record(string operation, long started, string? errorType)
    {
        var tags = new TagList { { "s2.operation", operation } };
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }
        Operations.Add(1, tags);
        Duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
    }
}
