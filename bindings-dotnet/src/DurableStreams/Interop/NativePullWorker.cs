using System.Text.Json;
using DurableStreams.Subscriptions;

namespace DurableStreams.Interop;

/// <summary>The native pull worker (<c>DsPullWorker</c>): its runs and counters.</summary>
internal sealed unsafe class NativePullWorker : IDisposable
{
    private readonly PullWorkerHandle _handle;

    internal NativePullWorker(PullWorkerHandle handle)
    {
        _handle = handle;
    }

    /// <summary>Starts a run (see <see cref="NativePullRun"/>).</summary>
    internal NativePullRun Start(string subscriptionId, string workerName, JsonSerializerOptions jsonOptions, Action<SubscriptionBatch>? onLost) =>
        NativePullRun.Start(_handle, subscriptionId, workerName, jsonOptions, onLost);

    /// <summary>The counters, or null once disposed.</summary>
    internal SubscriptionWorkerStats? Stats()
    {
        DsWorkerStats stats;
        try
        {
            using var lease = _handle.Lease();
            NativeMethods.ds_pull_worker_stats((DsPullWorker*)lease.Pointer, &stats);
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
        return new SubscriptionWorkerStats
        {
            ClaimAttempts = (long)stats.ClaimAttempts,
            Claims = (long)stats.Claims,
            AlreadyClaimed = (long)stats.AlreadyClaimed,
            NoPendingWork = (long)stats.NoPendingWork,
            Heartbeats = (long)stats.Heartbeats,
            Batches = (long)stats.Batches,
            WakesCompleted = (long)stats.WakesCompleted,
            LeasesLost = (long)stats.LeasesLost,
            HandlerFailures = (long)stats.HandlerFailures,
        };
    }

    /// <summary>The last failure's message, or null.</summary>
    /// <exception cref="ObjectDisposedException">The worker was disposed.</exception>
    internal string? LastError()
    {
        using var lease = _handle.Lease();
        return NativeString.TakeOwned(NativeMethods.ds_pull_worker_last_error((DsPullWorker*)lease.Pointer));
    }

    public void Dispose() => _handle.Dispose();
}
