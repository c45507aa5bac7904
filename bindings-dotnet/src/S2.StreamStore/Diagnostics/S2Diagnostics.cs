namespace S2.StreamStore;

/// <summary>
/// Names of the library's <see cref="System.Diagnostics.ActivitySource"/>, <see cref="System.Diagnostics.Metrics.Meter"/>
/// and instruments, for OpenTelemetry (<c>AddSource(S2Diagnostics.ActivitySourceName)</c>, <c>AddMeter(S2Diagnostics.MeterName)</c>).
/// </summary>
public static class S2Diagnostics
{
    /// <summary>The activity source: <c>S2.StreamStore</c>.</summary>
    public const string ActivitySourceName = "S2.StreamStore";

    /// <summary>The meter: <c>S2.StreamStore</c>.</summary>
    public const string MeterName = "S2.StreamStore";

    /// <summary>The <c>messaging.system</c> tag: <c>s2</c>.</summary>
    public const string MessagingSystem = "s2";

    /// <summary>Instrument names.</summary>
    public static class Instruments
    {
        /// <summary>Counter of completed operations, tagged with <c>s2.operation</c> and, on failure, <c>error.type</c> (the error kind).</summary>
        public const string Operations = "s2.client.operations";

        /// <summary>Histogram of operation durations in seconds.</summary>
        public const string OperationDuration = "s2.client.operation.duration";

        /// <summary>Counter of records appended (unary appends, sessions and producers; counted when acknowledged).</summary>
        public const string AppendedRecords = "s2.client.appended_records";

        /// <summary>Counter of records read (unary reads and read sessions).</summary>
        public const string ReadRecords = "s2.client.read_records";

        /// <summary>Counter of failures of sessions and producers, tagged with <c>error.type</c>.</summary>
        public const string SessionErrors = "s2.client.session_errors";
    }
}
