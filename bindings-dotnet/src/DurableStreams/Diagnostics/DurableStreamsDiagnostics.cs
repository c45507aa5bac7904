namespace DurableStreams;

/// <summary>
/// Names of the library's <see cref="System.Diagnostics.ActivitySource"/> and
/// <see cref="System.Diagnostics.Metrics.Meter"/> and of its instruments, for OpenTelemetry
/// (<c>AddSource(DurableStreamsDiagnostics.ActivitySourceName)</c>,
/// <c>AddMeter(DurableStreamsDiagnostics.MeterName)</c>) or a listener.
/// </summary>
public static class DurableStreamsDiagnostics
{
    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/>: <c>DurableStreams</c>.</summary>
    public const string ActivitySourceName = "DurableStreams";

    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/>: <c>DurableStreams</c>.</summary>
    public const string MeterName = "DurableStreams";

    /// <summary>The value of the <c>messaging.system</c> tag: <c>durable-streams</c>.</summary>
    public const string MessagingSystem = "durable-streams";

    /// <summary>Instrument names of the <see cref="MeterName"/> meter.</summary>
    public static class Instruments
    {
        /// <summary>Counter of completed single-request operations (create, append, head, delete, close), tagged with <c>durablestreams.operation</c> and, on failure, <c>error.type</c>.</summary>
        public const string Operations = "durablestreams.client.operations";

        /// <summary>Histogram of operation durations in seconds (same tags as <see cref="Operations"/>).</summary>
        public const string OperationDuration = "durablestreams.client.operation.duration";

        /// <summary>Counter of successful appends (<see cref="DurableStream.AppendAsync(ReadOnlyMemory{byte}, AppendOptions?, CancellationToken)"/> and its typed forms).</summary>
        public const string Appends = "durablestreams.client.appends";

        /// <summary>Counter of bytes sent by successful appends.</summary>
        public const string AppendedBytes = "durablestreams.client.appended_bytes";

        /// <summary>Counter of failed operations, read sessions and producer deliveries, tagged with <c>durablestreams.operation</c>, <c>error.type</c> and <c>http.response.status_code</c> when there is one.</summary>
        public const string Errors = "durablestreams.client.errors";

        /// <summary>Counter of messages accepted by idempotent producers (buffered for delivery).</summary>
        public const string ProducerMessages = "durablestreams.producer.messages";

        /// <summary>Counter of bytes accepted by idempotent producers.</summary>
        public const string ProducerBytes = "durablestreams.producer.bytes";

        /// <summary>Counter of producer flushes and closes (each sends the open batch).</summary>
        public const string ProducerFlushes = "durablestreams.producer.flushes";

        /// <summary>Counter of messages that producers failed to deliver (reported to <see cref="IdempotentProducer.OnError"/>).</summary>
        public const string ProducerFailedMessages = "durablestreams.producer.failed_messages";

        /// <summary>Observable gauge: batches sent and not yet acknowledged, summed over live producers.</summary>
        public const string ProducerInFlightBatches = "durablestreams.producer.inflight_batches";

        /// <summary>Observable gauge: messages buffered and not yet acknowledged, summed over live producers.</summary>
        public const string ProducerPendingMessages = "durablestreams.producer.pending_messages";

        /// <summary>Counter of producer batches acknowledged by the server, tagged with <c>durablestreams.producer.duplicate</c> (the server already had the batch: a resend after a lost answer).</summary>
        public const string ProducerBatches = "durablestreams.producer.batches";

        /// <summary>Histogram (seconds) from a producer batch's first send to its acknowledgement, retries included.</summary>
        public const string ProducerBatchDuration = "durablestreams.producer.batch.duration";

        /// <summary>Counter of producers fenced by a newer epoch of the same producer id, tagged with <c>durablestreams.producer.auto_claim</c>.</summary>
        public const string ProducerFenced = "durablestreams.producer.fenced";

        /// <summary>Counter of retries after transient failures (operations, read requests and producer batches), tagged with <c>durablestreams.operation</c>, <c>error.type</c> and <c>http.response.status_code</c> when the server answered.</summary>
        public const string Retries = "durablestreams.client.retries";

        /// <summary>Counter of live (SSE) read connections that broke or ended without progress.</summary>
        public const string ReadDroppedConnections = "durablestreams.read.dropped_connections";

        /// <summary>Counter of live (SSE) read reconnections, tagged with <c>durablestreams.read.reason</c> (<c>dropped</c> or <c>server_ended</c>).</summary>
        public const string ReadReconnects = "durablestreams.read.reconnects";

        /// <summary>Counter of read sessions started.</summary>
        public const string ReadSessions = "durablestreams.read.sessions";

        /// <summary>Counter of chunks (responses or SSE data events) delivered by read sessions.</summary>
        public const string ReadChunks = "durablestreams.read.chunks";

        /// <summary>Counter of bytes delivered by read sessions.</summary>
        public const string ReadBytes = "durablestreams.read.bytes";

        /// <summary>Counter of JSON messages delivered by read sessions (JSON streams only).</summary>
        public const string ReadMessages = "durablestreams.read.messages";

        /// <summary>
        /// Histogram (seconds) of how long a live read session waited for each chunk after it had
        /// caught up with the tail: the delivery delay of new data as seen by the reader (it
        /// includes the time until the data was written).
        /// </summary>
        public const string ReadLiveWait = "durablestreams.read.live.wait";

        /// <summary>Counter of subscription batches a pull worker finished, tagged with <c>durablestreams.subscription</c>, <c>durablestreams.worker</c> and <c>durablestreams.outcome</c> (<c>acked</c>, <c>failed</c>, <c>lost</c>).</summary>
        public const string SubscriptionBatches = "durablestreams.subscription.batches";

        /// <summary>Histogram of the seconds from a batch's delivery to its completion (same tags as <see cref="SubscriptionBatches"/>).</summary>
        public const string SubscriptionBatchDuration = "durablestreams.subscription.batch.duration";

        /// <summary>Observable counter of wakes pull workers claimed (tagged with subscription and worker).</summary>
        public const string SubscriptionClaims = "durablestreams.subscription.claims";

        /// <summary>Observable counter of claims refused because another worker held the lease.</summary>
        public const string SubscriptionAlreadyClaimed = "durablestreams.subscription.already_claimed";

        /// <summary>Observable counter of heartbeats (acks without <c>done</c>) the server accepted.</summary>
        public const string SubscriptionHeartbeats = "durablestreams.subscription.heartbeats";

        /// <summary>Observable counter of wakes finished with an ack with <c>done</c>.</summary>
        public const string SubscriptionWakesCompleted = "durablestreams.subscription.wakes_completed";

        /// <summary>Observable counter of wakes given up because the lease was lost (fenced, or not renewed in time).</summary>
        public const string SubscriptionLeasesLost = "durablestreams.subscription.leases_lost";
    }
}
