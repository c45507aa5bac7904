using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

#pragma warning disable CA1815 // opaque marker structs are never compared
internal struct DsSubscription { }
internal struct DsPullWorker { }
internal struct DsBatch { }
internal struct DsClaim { }
#pragma warning restore CA1815

/// <summary><c>DsPullWorkerArgs</c>: read before <c>ds_pull_worker_new</c> returns; zeros mean the defaults.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DsPullWorkerArgs
{
    public ulong HeartbeatIntervalMs;
    public ulong FailureBackoffMs;
}

/// <summary><c>DsWorkerStats</c>: written by <c>ds_pull_worker_stats</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DsWorkerStats
{
    public ulong ClaimAttempts;
    public ulong Claims;
    public ulong AlreadyClaimed;
    public ulong NoPendingWork;
    public ulong Heartbeats;
    public ulong Batches;
    public ulong WakesCompleted;
    public ulong LeasesLost;
    public ulong HandlerFailures;
}

/// <summary><c>DsAck</c>: borrowed for the call of <c>ds_subscription_ack</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DsAck
{
    public byte* Stream;
    public byte* Offset;
}

/// <summary>The subscription exports of <c>include/durable_streams.h</c>.</summary>
internal static unsafe partial class NativeMethods
{
    // ------------------------------------------------------------------ subscriptions

    [LibraryImport(Library)]
    internal static partial DsError* ds_subscription_new(DsClient* client, byte* streamRoot, byte* id, DsSubscription** outSubscription);

    [LibraryImport(Library)]
    internal static partial void ds_subscription_free(DsSubscription* subscription);

    [LibraryImport(Library)]
    internal static partial byte* ds_subscription_id(DsSubscription* subscription);

    [LibraryImport(Library)]
    internal static partial byte* ds_subscription_url(DsSubscription* subscription);

    [LibraryImport(Library)]
    internal static partial void ds_subscription_create(
        DsSubscription* subscription,
        byte* config,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, byte*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_subscription_get(
        DsSubscription* subscription,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, byte*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_subscription_delete(
        DsSubscription* subscription,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_subscription_add_streams(
        DsSubscription* subscription,
        byte** paths,
        nuint count,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_subscription_remove_stream(
        DsSubscription* subscription,
        byte* path,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, void> callback,
        void* userData);

    // ------------------------------------------------------------------ claims

    [LibraryImport(Library)]
    internal static partial void ds_subscription_claim(
        DsSubscription* subscription,
        byte* worker,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, DsClaim*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial byte* ds_claim_json(DsClaim* claim);

    [LibraryImport(Library)]
    internal static partial void ds_claim_free(DsClaim* claim);

    [LibraryImport(Library)]
    internal static partial void ds_subscription_ack(
        DsSubscription* subscription,
        DsClaim* claim,
        DsAck* acks,
        nuint count,
        byte done, // C bool
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, byte, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_subscription_release(
        DsSubscription* subscription,
        DsClaim* claim,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, void> callback,
        void* userData);

    // ------------------------------------------------------------------ pull workers

    [LibraryImport(Library)]
    internal static partial DsError* ds_pull_worker_new(DsSubscription* subscription, byte* name, DsPullWorkerArgs* args, DsPullWorker** outWorker);

    [LibraryImport(Library)]
    internal static partial void ds_pull_worker_free(DsPullWorker* worker);

    [LibraryImport(Library)]
    internal static partial void ds_pull_worker_run(
        DsPullWorker* worker,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsBatch*, void> onBatch,
        delegate* unmanaged[Cdecl]<void*, ulong, void> onLost,
        delegate* unmanaged[Cdecl]<void*, DsError*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial void ds_pull_worker_stats(DsPullWorker* worker, DsWorkerStats* stats);

    [LibraryImport(Library)]
    internal static partial byte* ds_pull_worker_last_error(DsPullWorker* worker);

    [LibraryImport(Library)]
    internal static partial void ds_batch_complete(DsBatch* batch, byte* errorMessage);

    [LibraryImport(Library)]
    internal static partial void ds_batch_free(DsBatch* batch);

    [LibraryImport(Library)]
    internal static partial ulong ds_batch_id(DsBatch* batch);

    [LibraryImport(Library)]
    internal static partial byte* ds_batch_stream(DsBatch* batch);

    [LibraryImport(Library)]
    internal static partial DsChunk* ds_batch_chunk(DsBatch* batch);

    [LibraryImport(Library)]
    internal static partial ulong ds_batch_generation(DsBatch* batch);
}

/// <summary><c>DsSubscription*</c>, freed with <c>ds_subscription_free</c>.</summary>
internal sealed unsafe class SubscriptionHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.ds_subscription_free((DsSubscription*)handle);
        return true;
    }
}

/// <summary><c>DsPullWorker*</c>, freed with <c>ds_pull_worker_free</c>.</summary>
internal sealed unsafe class PullWorkerHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.ds_pull_worker_free((DsPullWorker*)handle);
        return true;
    }
}

/// <summary><c>DsBatch*</c>, freed with <c>ds_batch_free</c> (a batch not completed first counts as failed).</summary>
internal sealed unsafe class BatchHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.ds_batch_free((DsBatch*)handle);
        return true;
    }
}

/// <summary><c>DsClaim*</c>, freed with <c>ds_claim_free</c>.</summary>
internal sealed unsafe class ClaimHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.ds_claim_free((DsClaim*)handle);
        return true;
    }
}
