namespace DurableStreams.Subscriptions;

/// <summary>Settings of a pull worker (<see cref="Subscription.CreateWorker(PullWorkerOptions)"/>).</summary>
public sealed class PullWorkerOptions
{
    /// <summary>Creates the settings of the worker named <paramref name="workerName"/>.</summary>
    /// <param name="workerName">The name the server reports as the lease holder (1 to 200 bytes, no control characters), e.g. the host name plus a process id.</param>
    public PullWorkerOptions(string workerName)
    {
        ArgumentNullException.ThrowIfNull(workerName);
        WorkerName = workerName;
    }

    /// <summary>The name the server reports as the lease holder.</summary>
    public string WorkerName { get; }

    /// <summary>How often to heartbeat while a batch is outstanding; null for a third of the claim's lease.</summary>
    public TimeSpan? HeartbeatInterval { get; set; }

    /// <summary>How long to wait after a failed batch before claiming again, so a message that always fails does not spin; null for 1 second.</summary>
    public TimeSpan? FailureBackoff { get; set; }
}

/// <summary>What a pull worker has done so far.</summary>
public sealed record SubscriptionWorkerStats
{
    /// <summary>Claim requests sent.</summary>
    public long ClaimAttempts { get; init; }

    /// <summary>Claims won.</summary>
    public long Claims { get; init; }

    /// <summary>Claims refused because another worker held the lease (the worker then waits for the next wake, never polling).</summary>
    public long AlreadyClaimed { get; init; }

    /// <summary>Claims answered "no pending work".</summary>
    public long NoPendingWork { get; init; }

    /// <summary>Heartbeats the server accepted.</summary>
    public long Heartbeats { get; init; }

    /// <summary>Batches that completed successfully.</summary>
    public long Batches { get; init; }

    /// <summary>Wakes finished with an ack with <c>done</c>.</summary>
    public long WakesCompleted { get; init; }

    /// <summary>Wakes given up because the lease was lost.</summary>
    public long LeasesLost { get; init; }

    /// <summary>Wakes released because a batch failed (or reading a linked stream did).</summary>
    public long HandlerFailures { get; init; }
}
