using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

/// <summary>
/// The static callbacks handed to the native library. Each one recovers its
/// <see cref="NativeOp{T}"/> from <c>user_data</c> (freeing the GCHandle), converts the
/// borrowed result to managed objects (and frees owned errors and chunks) before returning, and
/// completes the task. Nothing escapes into native code: every body catches everything.
/// </summary>
internal static unsafe class NativeCallbacks
{
    internal static delegate* unmanaged[Cdecl]<void*, DsError*, DsCreateResult*, void> Create => &OnCreate;

    internal static delegate* unmanaged[Cdecl]<void*, DsError*, DsStreamInfo*, void> Head => &OnHead;

    internal static delegate* unmanaged[Cdecl]<void*, DsError*, void> Done => &OnDone;

    internal static delegate* unmanaged[Cdecl]<void*, DsError*, DsAppendResult*, void> Append => &OnAppend;

    internal static delegate* unmanaged[Cdecl]<void*, DsError*, DsChunk*, void> Chunk => &OnChunk;

    internal static delegate* unmanaged[Cdecl]<void*, DsError*, byte*, void> OffsetResult => &OnOffset;

    internal static delegate* unmanaged[Cdecl]<void*, DsError*, ulong, void> Epoch => &OnEpoch;

    internal static delegate* unmanaged[Cdecl]<void*, void> FreeGCHandle => &OnFreeGCHandle;

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnCreate(void* userData, DsError* error, DsCreateResult* result)
    {
        NativeOp<CreateStreamResult>? op = null;
        try
        {
            op = NativeOp<CreateStreamResult>.FromUserData(userData);
            if (error != null)
            {
                var e = error;
                error = null;
                op.Fail(e);
                return;
            }
            var offset = NativeString.Read(result->NextOffset);
            op.Complete(new CreateStreamResult(
                result->Created != 0,
                offset is null ? null : Offset.FromTrusted(offset),
                NativeString.Read(result->ContentType),
                result->Closed != 0));
        }
        catch (Exception e)
        {
            Failed(op, error, e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnHead(void* userData, DsError* error, DsStreamInfo* info)
    {
        NativeOp<StreamMetadata>? op = null;
        try
        {
            op = NativeOp<StreamMetadata>.FromUserData(userData);
            if (error != null)
            {
                var e = error;
                error = null;
                op.Fail(e);
                return;
            }
            var expiresRaw = NativeString.Read(info->ExpiresAt);
            DateTimeOffset? expiresAt = expiresRaw is not null
                && DateTimeOffset.TryParse(expiresRaw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
                    ? parsed
                    : null;
            op.Complete(new StreamMetadata(
                Offset.FromTrusted(NativeString.Read(info->NextOffset) ?? "-1"),
                NativeString.Read(info->ContentType),
                info->Closed != 0,
                info->TtlSeconds >= 0 ? TimeSpan.FromSeconds(info->TtlSeconds) : null,
                expiresAt,
                expiresRaw));
        }
        catch (Exception e)
        {
            Failed(op, error, e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnDone(void* userData, DsError* error)
    {
        NativeOp<bool>? op = null;
        try
        {
            op = NativeOp<bool>.FromUserData(userData);
            if (error != null)
            {
                var e = error;
                error = null;
                op.Fail(e);
                return;
            }
            op.Complete(true);
        }
        catch (Exception e)
        {
            Failed(op, error, e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnAppend(void* userData, DsError* error, DsAppendResult* result)
    {
        NativeOp<AppendResult>? op = null;
        try
        {
            op = NativeOp<AppendResult>.FromUserData(userData);
            if (error != null)
            {
                var e = error;
                error = null;
                op.Fail(e);
                return;
            }
            op.Complete(new AppendResult(
                Offset.FromTrusted(NativeString.Read(result->NextOffset) ?? "-1"),
                result->Closed != 0));
        }
        catch (Exception e)
        {
            Failed(op, error, e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnChunk(void* userData, DsError* error, DsChunk* chunk)
    {
        NativeOp<ChunkData?>? op = null;
        try
        {
            op = NativeOp<ChunkData?>.FromUserData(userData);
            if (error != null)
            {
                var e = error;
                error = null;
                op.Fail(e);
                return;
            }
            op.Complete(chunk == null ? null : ChunkData.From(chunk));
        }
        catch (Exception e)
        {
            Failed(op, error, e);
        }
        finally
        {
            if (chunk != null)
            {
                NativeMethods.ds_chunk_free(chunk);
            }
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnOffset(void* userData, DsError* error, byte* offset)
    {
        NativeOp<Offset?>? op = null;
        try
        {
            op = NativeOp<Offset?>.FromUserData(userData);
            if (error != null)
            {
                var e = error;
                error = null;
                op.Fail(e);
                return;
            }
            var text = NativeString.Read(offset);
            op.Complete(text is null ? null : Offset.FromTrusted(text));
        }
        catch (Exception e)
        {
            Failed(op, error, e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnEpoch(void* userData, DsError* error, ulong epoch)
    {
        NativeOp<long>? op = null;
        try
        {
            op = NativeOp<long>.FromUserData(userData);
            if (error != null)
            {
                var e = error;
                error = null;
                op.Fail(e);
                return;
            }
            op.Complete(checked((long)epoch));
        }
        catch (Exception e)
        {
            Failed(op, error, e);
        }
    }

    /// <summary>Frees a GCHandle passed as long-lived <c>user_data</c> (client decorator, producer).</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnFreeGCHandle(void* userData)
    {
        try
        {
            if (userData != null)
            {
                GCHandle.FromIntPtr((nint)userData).Free();
            }
        }
        catch (Exception e)
        {
            Unexpected(e);
        }
    }

    /// <summary>A callback body failed after recovering (or while recovering) its operation.</summary>
    private static void Failed<T>(NativeOp<T>? op, DsError* unconsumedError, Exception exception)
    {
        try
        {
            if (unconsumedError != null)
            {
                NativeMethods.ds_error_free(unconsumedError);
            }
            if (op is not null)
            {
                op.Fail(exception);
            }
            else
            {
                Unexpected(exception);
            }
        }
        catch (Exception e)
        {
            Unexpected(e);
        }
    }

    /// <summary>
    /// An exception that cannot be delivered to any caller (a bug in this library). It must not
    /// unwind into native code, so it is recorded (<see cref="UnexpectedCount"/>,
    /// <see cref="LastUnexpected"/>; tests assert there are none) and dropped.
    /// </summary>
    internal static void Unexpected(Exception exception)
    {
        Interlocked.Increment(ref s_unexpected);
        LastUnexpected = exception;
    }

    private static long s_unexpected;

    /// <summary>How many callback exceptions could not be delivered (always 0 unless there is a bug).</summary>
    internal static long UnexpectedCount => Interlocked.Read(ref s_unexpected);

    /// <summary>The last undeliverable callback exception.</summary>
    internal static Exception? LastUnexpected { get; private set; }
}

/// <summary>One chunk of a read, copied out of the native <c>DsChunk</c>.</summary>
internal sealed class ChunkData
{
    private ChunkData(byte[] data, ReadOnlyMemory<byte>[]? messages, string offset, string? cursor, bool upToDate, bool closed, bool partial, int status)
    {
        Partial = partial;
        Status = status;
        Data = data;
        Messages = messages;
        Offset = offset;
        Cursor = cursor;
        UpToDate = upToDate;
        Closed = closed;
    }

    /// <summary>The raw bytes (for JSON streams, the JSON array text).</summary>
    public byte[] Data { get; }

    /// <summary>For JSON streams, each message's JSON text; null for other content types.</summary>
    public ReadOnlyMemory<byte>[]? Messages { get; }

    public string Offset { get; }

    public string? Cursor { get; }

    public bool UpToDate { get; }

    public bool Closed { get; }

    /// <summary>More of the same response follows (bounded chunks); the offset is where the response began.</summary>
    public bool Partial { get; }

    /// <summary>The HTTP status of the response the chunk came from (200, or 204 for a long-poll timeout).</summary>
    public int Status { get; }

    private StreamCheckpoint? _checkpoint;

    /// <summary>The position after this chunk (offset and cursor).</summary>
    public StreamCheckpoint Checkpoint => _checkpoint ??= new StreamCheckpoint(DurableStreams.Offset.FromTrusted(Offset), Cursor);

    /// <summary>Copies a chunk (borrowed; the caller frees it).</summary>
    internal static unsafe ChunkData From(DsChunk* chunk)
    {
        nuint length = 0;
        var data = NativeMethods.ds_chunk_data(chunk, &length);
        byte[] bytes;
        if (length == 0 || data == null)
        {
            bytes = Array.Empty<byte>();
        }
        else
        {
            // Overwritten entirely by the copy: no need for the GC to zero it first (that doubles
            // the cost of a large catch-up chunk).
            bytes = GC.AllocateUninitializedArray<byte>(checked((int)length));
            new ReadOnlySpan<byte>(data, bytes.Length).CopyTo(bytes);
        }

        ReadOnlyMemory<byte>[]? messages = null;
        var count = NativeMethods.ds_chunk_message_count(chunk);
        if (count >= 0)
        {
            messages = count == 0 ? Array.Empty<ReadOnlyMemory<byte>>() : new ReadOnlyMemory<byte>[count];
            for (long i = 0; i < count; i++)
            {
                nuint messageLength = 0;
                var message = NativeMethods.ds_chunk_message(chunk, (nuint)i, &messageLength);
                if (message == null || messageLength == 0)
                {
                    messages[i] = ReadOnlyMemory<byte>.Empty;
                }
                else if (data != null && message >= data && message + messageLength <= data + length)
                {
                    // The message is a slice of the data already copied: share it.
                    messages[i] = bytes.AsMemory(checked((int)(message - data)), checked((int)messageLength));
                }
                else
                {
                    messages[i] = new ReadOnlySpan<byte>(message, checked((int)messageLength)).ToArray();
                }
            }
        }

        return new ChunkData(
            bytes,
            messages,
            NativeString.Read(NativeMethods.ds_chunk_offset(chunk)) ?? "-1",
            NativeString.Read(NativeMethods.ds_chunk_cursor(chunk)),
            NativeMethods.ds_chunk_up_to_date(chunk) != 0,
            NativeMethods.ds_chunk_closed(chunk) != 0,
            NativeMethods.ds_chunk_partial(chunk) != 0,
            NativeMethods.ds_chunk_status(chunk));
    }
}
