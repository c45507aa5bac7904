using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace S2.StreamStore.Tests;

/// <summary>Operations reach the meter, the activity source and the logger.</summary>
public class DiagnosticsTests
{
    [Fact]
    public async Task A_failed_operation_is_counted_traced_and_logged_with_its_error_kind()
    {
        var measurements = new List<(string Instrument, string? Operation, string? Error)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == S2Diagnostics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            string? operation = null, error = null;
            foreach (var tag in tags)
            {
                operation = tag.Key == "s2.operation" ? tag.Value as string : operation;
                error = tag.Key == "error.type" ? tag.Value as string : error;
            }
            lock (measurements)
            {
                measurements.Add((instrument.Name, operation, error));
            }
        });
        listener.Start();
        var activities = new List<Activity>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == S2Diagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (activities)
                {
                    activities.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(activityListener);
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));

        await using var client = new S2Client(new S2Options { AccessToken = "t", Endpoint = new Uri("http://127.0.0.1:9"), Retry = new S2RetryOptions { MaxAttempts = 1 }, LoggerFactory = factory });
        await Assert.ThrowsAsync<S2Exception>(() => client.GetBasinConfigAsync("diag-basin", Lite.Timeout()));

        lock (measurements)
        {
            Assert.Contains(measurements, m => m.Instrument == S2Diagnostics.Instruments.Operations && m.Operation == "get_basin_config" && m.Error == "Network");
        }
        lock (activities)
        {
            var activity = Assert.Single(activities, a => a.OperationName == "s2.get_basin_config" && (string?)a.GetTagItem("s2.basin") == "diag-basin");
            Assert.Equal(ActivityStatusCode.Error, activity.Status);
        }
        Assert.Contains(logs.Messages, m => m.Contains("get_basin_config", StringComparison.Ordinal) && m.Contains("diag-basin", StringComparison.Ordinal) && m.Contains("Network", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains("\"t\"", StringComparison.Ordinal));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider, ILogger
    {
        private readonly List<string> _messages = new();

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (_messages)
                {
                    return _messages.ToArray();
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_messages)
            {
                _messages.Add(formatter(state, exception));
            }
        }

        public void Dispose()
        {
        }
    }
}
