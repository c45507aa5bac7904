using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

/// <summary>Receives the background delivery errors of a <see cref="NativeProducer"/>, on native threads.</summary>
internal interface INativeProducerErrorSink
{
    /// <summary>A batch failed for good, the producer was fenced, or messages were dropped. Must not block.</summary>
    void OnDeliveryFailed(ProducerErrorEventArgs args);
}

/// <summary>The outcome of <see cref="NativeProducer.TryAppend"/>.</summary>
internal enum TryAppendResult
{
    /// <summary>The message is in the native buffer.</summary>
    Accepted,

    /// <summary>The buffer limits are reached; nothing was copied.</summary>
    Full,

    /// <summary>The producer refused the message (the error says why).</summary>
    Failed,
}

/// <summary>
/// The native idempotent producer (<c>DsProducer</c>): buffer, batching, retries. Counters are
/// clamped to <see cref="long"/>.
/// </summary>
internal sealed unsafe class NativeProducer : NativeObject
{
    private readonly ProducerHandle _handle;
    // The native producer keeps the native stream alive on its own; this keeps the managed one (and
    // its client's dynamic header providers) alive while the producer can still send a batch.
    private readonly NativeStream _stream;

    private NativeProducer(NativeStream stream, ProducerHandle handle)
    {
        _stream = stream;
        _handle = handle;
    }

    private protected override string PublicName => nameof(IdempotentProducer);

    private protected override NativeHandle Handle => _handle;

    /// <summary>
    /// Creates a producer on <paramref name="stream"/> with <paramref name="options"/> (validated
    /// by the caller); <paramref name="contentType"/> is the content type its batches are sent
    /// with (null: the stream's). Delivery errors go to <paramref name="errors"/>. No I/O.
    /// </summary>
    /// <exception cref="ArgumentException">The core rejected an argument (parameter <c>producerId</c>).</exception>
    internal static NativeProducer Create(NativeStream stream, string producerId, IdempotentProducerOptions options, string? contentType, INativeProducerErrorSink errors)
    {
        var json = OptionsJson.Build((options, contentType), static (w, s) =>
        {
            var (o, ct) = s;
            w.WriteNumber("epoch", o.Epoch);
            w.WriteBoolean("auto_claim", o.AutoClaim);
            w.WriteNumber("max_batch_bytes", o.MaxBatchBytes);
            if (o.MaxBatchItems is { } items)
            {
                w.WriteNumber("max_batch_items", items);
            }
            w.WriteNumber("linger_ms", OptionsJson.Milliseconds(o.Linger));
            w.WriteNumber("max_in_flight", o.MaxInFlight);
            w.WriteNumber("max_buffered_messages", o.MaxBufferedMessages);
            w.WriteNumber("max_buffered_bytes", o.MaxBufferedBytes);
            w.WriteNumber("delivery_timeout_ms", OptionsJson.Milliseconds(o.DeliveryTimeout));
            if (ct is not null)
            {
                OptionsJson.WriteString(w, "content_type", ct, nameof(o.ContentType));
            }
        });
        var id = NativeString.ToUtf8Z(producerId, nameof(producerId));

        var handle = new ProducerHandle();
        DsProducer* producer = null;
        DsError* error;
        using (var lease = stream.Lease())
        {
            var sink = GCHandle.Alloc(errors);
            fixed (byte* i = id)
            fixed (byte* j = json)
            {
                // Ownership of the GCHandle passes to the library (freed through FreeGCHandle,
                // also when this call fails).
                error = NativeMethods.ds_producer_new(
                    (DsStream*)lease.Pointer,
                    i,
                    j,
                    &OnDeliveryError,
                    (void*)GCHandle.ToIntPtr(sink),
                    NativeCallbacks.FreeGCHandle,
                    &producer);
            }
        }
        if (error != null)
        {
            throw NativeErrors.TakeAsArgumentException(error, nameof(producerId));
        }
        handle.Adopt((nint)producer);
        return new NativeProducer(stream, handle);
    }

    /// <summary>The current epoch.</summary>
    internal long Epoch
    {
        get
        {
            using var lease = Lease();
            return Clamp(NativeMethods.ds_producer_epoch((DsProducer*)lease.Pointer));
        }
    }

    /// <summary>The sequence number of the next batch.</summary>
    internal long NextSeq
    {
        get
        {
            using var lease = Lease();
            return Clamp(NativeMethods.ds_producer_next_seq((DsProducer*)lease.Pointer));
        }
    }

    /// <summary>Messages in the native buffer not yet handed to a request.</summary>
    internal long PendingCount
    {
        get
        {
            using var lease = Lease();
            return Clamp(NativeMethods.ds_producer_pending_count((DsProducer*)lease.Pointer));
        }
    }

    /// <summary>Batches sent and not yet acknowledged.</summary>
    internal long InFlightCount
    {
        get
        {
            using var lease = Lease();
            return Clamp(NativeMethods.ds_producer_in_flight_count((DsProducer*)lease.Pointer));
        }
    }

    /// <summary>The stream offset after the last acknowledged batch; null before the first.</summary>
    internal Offset? LastAckedOffset
    {
        get
        {
            using var lease = Lease();
            var text = NativeString.TakeOwned(NativeMethods.ds_producer_last_acked_offset((DsProducer*)lease.Pointer));
            return text is null ? null : Offset.FromTrusted(text);
        }
    }

    /// <summary>
    /// The hot path: copies <paramref name="data"/> into the native buffer if it has room. No
    /// managed allocation unless the producer refuses the message (then <paramref name="error"/>
    /// says why: closed, failed, invalid).
    /// </summary>
    internal TryAppendResult TryAppend(ReadOnlySpan<byte> data, out Exception? error)
    {
        DsError* nativeError = null;
        int status;
        using (var lease = Lease())
        {
            fixed (byte* p = data)
            {
                status = NativeMethods.ds_producer_try_append((DsProducer*)lease.Pointer, p, (nuint)data.Length, &nativeError);
            }
        }
        error = null;
        switch (status)
        {
            case TryAppendStatus.Ok:
                return TryAppendResult.Accepted;
            case TryAppendStatus.Full:
                return TryAppendResult.Full;
            default:
                error = nativeError == null
                    ? new DurableStreamException("The producer rejected the message.", DurableStreamErrorCode.Internal)
                    : NativeErrors.Take(nativeError, CancellationToken.None);
                return TryAppendResult.Failed;
        }
    }

    /// <summary>Copies <paramref name="data"/> into the buffer, waiting for room; completes once it is buffered.</summary>
    internal Task AppendAsync(ReadOnlySpan<byte> data, CancellationToken cancellationToken)
    {
        fixed (byte* p = data)
        {
            return NativeCall<bool>.Start(
                this,
                cancellationToken,
                null,
                (Data: (nint)p, Length: (nuint)data.Length),
                static (a, producer, cancel, userData) => NativeMethods.ds_producer_append(
                    (DsProducer*)producer, (byte*)a.Data, a.Length, (DsCancel*)cancel, NativeCallbacks.Done, (void*)userData));
        }
    }

    /// <summary>Sends everything buffered; completes with the last acknowledged offset once it is all acknowledged.</summary>
    internal Task<Offset?> FlushAsync(CancellationToken cancellationToken) =>
        NativeCall<Offset?>.Start(
            this,
            cancellationToken,
            null,
            0,
            static (_, producer, cancel, userData) => NativeMethods.ds_producer_flush(
                (DsProducer*)producer, (DsCancel*)cancel, NativeCallbacks.OffsetResult, (void*)userData));

    /// <summary>Delivers everything buffered, then appends <paramref name="finalData"/> (may be empty) and closes the stream.</summary>
    internal Task<Offset?> CloseAsync(ReadOnlySpan<byte> finalData, CancellationToken cancellationToken)
    {
        fixed (byte* p = finalData)
        {
            return NativeCall<Offset?>.Start(
                this,
                cancellationToken,
                null,
                (Data: (nint)p, Length: (nuint)finalData.Length),
                static (a, producer, cancel, userData) => NativeMethods.ds_producer_close(
                    (DsProducer*)producer, (byte*)a.Data, a.Length, (DsCancel*)cancel, NativeCallbacks.OffsetResult, (void*)userData));
        }
    }

    /// <summary>Delivers everything buffered, then stops without closing the stream.</summary>
    internal Task DetachAsync(CancellationToken cancellationToken) =>
        NativeCall<bool>.Start(
            this,
            cancellationToken,
            null,
            0,
            static (_, producer, cancel, userData) => NativeMethods.ds_producer_detach(
                (DsProducer*)producer, (DsCancel*)cancel, NativeCallbacks.Done, (void*)userData));

    /// <summary>Delivers what is buffered, then moves to the next epoch; completes with it.</summary>
    internal Task<long> RestartAsync(CancellationToken cancellationToken) =>
        NativeCall<long>.Start(
            this,
            cancellationToken,
            null,
            0,
            static (_, producer, cancel, userData) => NativeMethods.ds_producer_restart(
                (DsProducer*)producer, (DsCancel*)cancel, NativeCallbacks.Epoch, (void*)userData));

    /// <summary>Releases the native producer (deferred while a call holds a lease).</summary>
    internal void Dispose() => _handle.Dispose();

    private static long Clamp(ulong value) => (long)Math.Min(long.MaxValue, value);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnDeliveryError(void* userData, DsError* error, ulong epoch, long firstSeq, long lastSeq, ulong messageCount)
    {
        try
        {
            var sink = (INativeProducerErrorSink)GCHandle.FromIntPtr((nint)userData).Target!;
            // The error is borrowed: convert it now, do not free it.
            var exception = NativeErrors.Convert(error, CancellationToken.None);
            sink.OnDeliveryFailed(new ProducerErrorEventArgs(
                exception,
                Clamp(epoch),
                firstSeq < 0 ? null : firstSeq,
                lastSeq < 0 ? null : lastSeq,
                Clamp(messageCount)));
        }
        catch (Exception e)
        {
            NativeCallbacks.Unexpected(e);
        }
    }
}
