using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading.Channels;
using DurableStreams.Subscriptions;

namespace DurableStreams.Interop;

/// <summary>
/// One <c>ds_pull_worker_run</c>: the native worker hands each batch to <see cref="OnBatch"/>,
/// which queues it for the consumer; <see cref="OnLost"/> marks the outstanding batch lost; the
/// completion ends the queue. The run's <see cref="GCHandle"/> is its <c>user_data</c>, freed by
/// the completion, after which no callback comes.
/// </summary>
internal sealed unsafe class NativePullRun
{
    private readonly Channel<SubscriptionBatch> _batches =
        Channel.CreateUnbounded<SubscriptionBatch>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancelHandle _cancel = CancelHandle.Create();
    private readonly string _subscriptionId;
    private readonly string _workerName;
    private readonly JsonSerializerOptions _jsonOptions;
    private readonly Action<SubscriptionBatch>? _onLost;
    private SubscriptionBatch? _outstanding;
    private volatile bool _stopping;

    private NativePullRun(string subscriptionId, string workerName, JsonSerializerOptions jsonOptions, Action<SubscriptionBatch>? onLost)
    {
        _onLost = onLost;
        _subscriptionId = subscriptionId;
        _workerName = workerName;
        _jsonOptions = jsonOptions;
    }

    /// <summary>Batches as they arrive; completed when the run ends.</summary>
    internal ChannelReader<SubscriptionBatch> Batches => _batches.Reader;

    /// <summary>Completes when the native run has ended (and no callback can come): faulted with its failure, cancelled when stopped.</summary>
    internal Task Completion => _completion.Task;

    /// <summary>Starts the run of <paramref name="worker"/>; <paramref name="onLost"/> hears of each batch whose lease was lost (on a native thread).</summary>
    internal static NativePullRun Start(PullWorkerHandle worker, string subscriptionId, string workerName, JsonSerializerOptions jsonOptions, Action<SubscriptionBatch>? onLost)
    {
        var run = new NativePullRun(subscriptionId, workerName, jsonOptions, onLost);
        var self = GCHandle.Alloc(run);
        try
        {
            using var lease = worker.Lease();
            using var cancel = run._cancel.Lease();
            NativeMethods.ds_pull_worker_run(
                (DsPullWorker*)lease.Pointer,
                (DsCancel*)cancel.Pointer,
                &OnBatch,
                &OnLost,
                &OnDone,
                (void*)GCHandle.ToIntPtr(self));
        }
        catch
        {
            self.Free();
            run._cancel.Dispose();
            throw;
        }
        return run;
    }

    /// <summary>Stops the run: the wake in progress is abandoned (another worker gets it when its lease expires).</summary>
    internal void Stop()
    {
        _stopping = true;
        _cancel.Trigger();
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnBatch(void* userData, DsBatch* batch)
    {
        NativeBatch? native = null;
        try
        {
            native = NativeBatch.Adopt(batch);
            var run = (NativePullRun)GCHandle.FromIntPtr((nint)userData).Target!;
            var item = new SubscriptionBatch(native, run._jsonOptions, run._subscriptionId, run._workerName);
            Volatile.Write(ref run._outstanding, item);
            if (run._stopping || !run._batches.Writer.TryWrite(item))
            {
                item.Complete("the worker is stopping");
                item.Dispose();
            }
        }
        catch (Exception e)
        {
            // The worker waits for this batch: fail it (freeing it does) rather than leave it waiting.
            if (native is not null)
            {
                native.Dispose();
            }
            else
            {
                NativeMethods.ds_batch_free(batch);
            }
            NativeCallbacks.Unexpected(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnLost(void* userData, ulong batchId)
    {
        try
        {
            var run = (NativePullRun)GCHandle.FromIntPtr((nint)userData).Target!;
            if (Volatile.Read(ref run._outstanding) is { } batch && batch.Id == batchId)
            {
                batch.MarkLost();
                run._onLost?.Invoke(batch);
            }
        }
        catch (Exception e)
        {
            NativeCallbacks.Unexpected(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnDone(void* userData, DsError* error)
    {
        try
        {
            var handle = GCHandle.FromIntPtr((nint)userData);
            var run = (NativePullRun)handle.Target!;
            handle.Free();
            Exception? failure = null;
            if (error != null)
            {
                failure = NativeErrors.Take(error, CancellationToken.None);
                error = null;
            }
            run._cancel.Dispose();
            run._batches.Writer.TryComplete();
            switch (failure)
            {
                case null:
                    run._completion.TrySetResult();
                    break;
                case OperationCanceledException when run._stopping:
                    run._completion.TrySetCanceled();
                    break;
                default:
                    run._completion.TrySetException(failure);
                    break;
            }
        }
        catch (Exception e)
        {
            if (error != null)
            {
                NativeMethods.ds_error_free(error);
            }
            NativeCallbacks.Unexpected(e);
        }
    }
}
