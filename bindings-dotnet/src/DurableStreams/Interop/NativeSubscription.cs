using DurableStreams.Subscriptions;

namespace DurableStreams.Interop;

/// <summary>
/// The native subscription handle (<c>DsSubscription</c>) of a <see cref="NativeClient"/> and its
/// control and delivery calls. Every call fails with <see cref="ObjectDisposedException"/> once
/// the client is disposed.
/// </summary>
internal sealed unsafe class NativeSubscription : NativeObject
{
    private readonly NativeClient _client;
    private readonly SubscriptionHandle _handle;

    private NativeSubscription(NativeClient client, SubscriptionHandle handle)
    {
        _client = client;
        _handle = handle;
        using var lease = handle.Lease();
        Id = NativeString.Read(NativeMethods.ds_subscription_id((DsSubscription*)lease.Pointer)) ?? string.Empty;
        Url = NativeString.Read(NativeMethods.ds_subscription_url((DsSubscription*)lease.Pointer)) ?? string.Empty;
    }

    private protected override string PublicName => nameof(Subscription);

    private protected override NativeHandle Handle => _handle;

    internal string Id { get; }

    internal string Url { get; }

    /// <summary>The subscription <paramref name="id"/> under <paramref name="streamRoot"/> (null: the client's base URL).</summary>
    /// <exception cref="ArgumentException">The core rejected the id or the root.</exception>
    internal static NativeSubscription Open(NativeClient client, string? streamRoot, string id)
    {
        var handle = new SubscriptionHandle();
        var rootBytes = NativeString.ToUtf8Z(streamRoot, nameof(streamRoot));
        var idBytes = NativeString.ToUtf8Z(id, nameof(id));
        DsSubscription* subscription = null;
        DsError* error;
        using (var lease = client.Lease())
        {
            fixed (byte* r = rootBytes)
            fixed (byte* i = idBytes)
            {
                error = NativeMethods.ds_subscription_new((DsClient*)lease.Pointer, r, i, &subscription);
            }
        }
        if (error != null)
        {
            // The core's message names the field it rejected.
            var aboutRoot = NativeString.Read(NativeMethods.ds_error_message(error))?.Contains("stream_root", StringComparison.Ordinal) == true;
            throw NativeErrors.TakeAsArgumentException(error, aboutRoot ? nameof(streamRoot) : nameof(id));
        }
        handle.Adopt((nint)subscription);
        return new NativeSubscription(client, handle);
    }

    /// <inheritdoc/>
    internal override HandleLease Lease()
    {
        if (_client.IsDisposed)
        {
            throw new ObjectDisposedException(typeof(DurableStreamClient).FullName);
        }
        return base.Lease();
    }

    internal Task<string> CreateAsync(byte[] config, CancellationToken cancellationToken) =>
        NativeCall<string>.Start(this, cancellationToken, null, config, static (config, subscription, cancel, userData) =>
        {
            fixed (byte* c = config)
            {
                NativeMethods.ds_subscription_create((DsSubscription*)subscription, c, (DsCancel*)cancel, SubscriptionCallbacks.Json, (void*)userData);
            }
        });

    internal Task<string> GetAsync(CancellationToken cancellationToken) =>
        NativeCall<string>.Start(this, cancellationToken, null, 0, static (_, subscription, cancel, userData) =>
            NativeMethods.ds_subscription_get((DsSubscription*)subscription, (DsCancel*)cancel, SubscriptionCallbacks.Json, (void*)userData));

    internal Task<bool> DeleteAsync(CancellationToken cancellationToken) =>
        NativeCall<bool>.Start(this, cancellationToken, null, 0, static (_, subscription, cancel, userData) =>
            NativeMethods.ds_subscription_delete((DsSubscription*)subscription, (DsCancel*)cancel, NativeCallbacks.Done, (void*)userData));

    internal Task<bool> AddStreamsAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        var encoded = new byte[paths.Count][];
        for (var i = 0; i < paths.Count; i++)
        {
            encoded[i] = NativeString.ToUtf8Z(paths[i], $"paths[{i}]");
        }
        return NativeCall<bool>.Start(this, cancellationToken, null, encoded, static (encoded, subscription, cancel, userData) =>
        {
            var handles = new System.Runtime.InteropServices.GCHandle[encoded.Length];
            var pointers = new nint[encoded.Length];
            try
            {
                for (var i = 0; i < encoded.Length; i++)
                {
                    handles[i] = System.Runtime.InteropServices.GCHandle.Alloc(encoded[i], System.Runtime.InteropServices.GCHandleType.Pinned);
                    pointers[i] = handles[i].AddrOfPinnedObject();
                }
                fixed (nint* p = pointers)
                {
                    NativeMethods.ds_subscription_add_streams((DsSubscription*)subscription, (byte**)p, (nuint)encoded.Length, (DsCancel*)cancel, NativeCallbacks.Done, (void*)userData);
                }
            }
            finally
            {
                foreach (var handle in handles)
                {
                    if (handle.IsAllocated)
                    {
                        handle.Free();
                    }
                }
            }
        });
    }

    internal Task<bool> RemoveStreamAsync(string path, CancellationToken cancellationToken) =>
        NativeCall<bool>.Start(this, cancellationToken, null, NativeString.ToUtf8Z(path, nameof(path)), static (path, subscription, cancel, userData) =>
        {
            fixed (byte* p = path)
            {
                NativeMethods.ds_subscription_remove_stream((DsSubscription*)subscription, p, (DsCancel*)cancel, NativeCallbacks.Done, (void*)userData);
            }
        });

    internal Task<SubscriptionClaim?> ClaimAsync(string worker, CancellationToken cancellationToken) =>
        NativeCall<SubscriptionClaim?>.Start(this, cancellationToken, null, NativeString.ToUtf8Z(worker, nameof(worker)), static (worker, subscription, cancel, userData) =>
        {
            fixed (byte* w = worker)
            {
                NativeMethods.ds_subscription_claim((DsSubscription*)subscription, w, (DsCancel*)cancel, SubscriptionCallbacks.Claim, (void*)userData);
            }
        });

    internal Task<bool> AckAsync(SubscriptionClaim claim, IReadOnlyList<SubscriptionAck> acks, bool done, CancellationToken cancellationToken)
    {
        var strings = new byte[acks.Count * 2][];
        for (var i = 0; i < acks.Count; i++)
        {
            strings[2 * i] = NativeString.ToUtf8Z(acks[i].Stream, $"acks[{i}].Stream");
            strings[(2 * i) + 1] = NativeString.ToUtf8Z(acks[i].Offset.ToString(), $"acks[{i}].Offset");
        }
        return NativeCall<bool>.Start(this, cancellationToken, null, (claim, strings, done), static (state, subscription, cancel, userData) =>
        {
            var (claim, strings, done) = state;
            var pins = new System.Runtime.InteropServices.GCHandle[strings.Length];
            var entries = new DsAck[strings.Length / 2];
            try
            {
                for (var i = 0; i < strings.Length; i++)
                {
                    pins[i] = System.Runtime.InteropServices.GCHandle.Alloc(strings[i], System.Runtime.InteropServices.GCHandleType.Pinned);
                }
                for (var i = 0; i < entries.Length; i++)
                {
                    entries[i].Stream = (byte*)pins[2 * i].AddrOfPinnedObject();
                    entries[i].Offset = (byte*)pins[(2 * i) + 1].AddrOfPinnedObject();
                }
                using var claimLease = claim.Native.Handle.Lease();
                fixed (DsAck* a = entries)
                {
                    NativeMethods.ds_subscription_ack((DsSubscription*)subscription, (DsClaim*)claimLease.Pointer, a, (nuint)entries.Length, done ? (byte)1 : (byte)0, (DsCancel*)cancel, SubscriptionCallbacks.Ack, (void*)userData);
                }
            }
            finally
            {
                foreach (var pin in pins)
                {
                    if (pin.IsAllocated)
                    {
                        pin.Free();
                    }
                }
            }
        });
    }

    internal Task<bool> ReleaseAsync(SubscriptionClaim claim, CancellationToken cancellationToken) =>
        NativeCall<bool>.Start(this, cancellationToken, null, claim, static (claim, subscription, cancel, userData) =>
        {
            using var claimLease = claim.Native.Handle.Lease();
            NativeMethods.ds_subscription_release((DsSubscription*)subscription, (DsClaim*)claimLease.Pointer, (DsCancel*)cancel, NativeCallbacks.Done, (void*)userData);
        });

    /// <summary>A native pull worker named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">The core rejected the name or a setting.</exception>
    internal NativePullWorker CreateWorker(string name, TimeSpan? heartbeatInterval, TimeSpan? failureBackoff)
    {
        var args = new DsPullWorkerArgs
        {
            HeartbeatIntervalMs = Milliseconds(heartbeatInterval, nameof(PullWorkerOptions.HeartbeatInterval)),
            FailureBackoffMs = Milliseconds(failureBackoff, nameof(PullWorkerOptions.FailureBackoff)),
        };
        var nameBytes = NativeString.ToUtf8Z(name, nameof(name));
        var handle = new PullWorkerHandle();
        DsPullWorker* worker = null;
        DsError* error;
        using (var lease = Lease())
        {
            fixed (byte* n = nameBytes)
            {
                error = NativeMethods.ds_pull_worker_new((DsSubscription*)lease.Pointer, n, &args, &worker);
            }
        }
        if (error != null)
        {
            throw NativeErrors.TakeAsArgumentException(error, nameof(PullWorkerOptions.WorkerName));
        }
        handle.Adopt((nint)worker);
        return new NativePullWorker(handle);
    }

    private static ulong Milliseconds(TimeSpan? value, string paramName)
    {
        if (value is not { } span)
        {
            return 0;
        }
        if (span <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, span, "must be greater than zero (null for the default)");
        }
        return (ulong)Math.Max(1, Math.Ceiling(span.TotalMilliseconds));
    }
}
