using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

/// <summary>
/// The static completion callbacks handed to the native library, one per callback type of the
/// header. Each one only converts its borrowed result (inside <see cref="NativeCall{T}.Complete"/>,
/// which recovers the call from <c>user_data</c>, frees owned errors and completes the task);
/// nothing escapes into native code.
/// </summary>
internal static unsafe partial class NativeCallbacks
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
    private static void OnCreate(void* userData, DsError* error, DsCreateResult* result) =>
        NativeCall<CreateStreamDetails>.Complete(userData, error, (nint)result, static r => ToCreateResult((DsCreateResult*)r));

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnHead(void* userData, DsError* error, DsStreamInfo* info) =>
        NativeCall<StreamMetadata>.Complete(userData, error, (nint)info, static i => ToMetadata((DsStreamInfo*)i));

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnDone(void* userData, DsError* error) =>
        NativeCall<bool>.Complete(userData, error, true, static done => done);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnAppend(void* userData, DsError* error, DsAppendResult* result) =>
        NativeCall<AppendResult>.Complete(userData, error, (nint)result, static r => ToAppendResult((DsAppendResult*)r));

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnChunk(void* userData, DsError* error, DsChunk* chunk) =>
        // The callback owns the chunk: ChunkData adopts it (its bytes are read later, in place).
        NativeCall<ChunkData?>.Complete(userData, error, (nint)chunk, static c => c == 0 ? null : ChunkData.Adopt((DsChunk*)c));

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnOffset(void* userData, DsError* error, byte* offset) =>
        NativeCall<Offset?>.Complete(userData, error, (nint)offset, static o => NativeString.Read((byte*)o) is { } text ? Offset.FromTrusted(text) : null);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnEpoch(void* userData, DsError* error, ulong epoch) =>
        NativeCall<long>.Complete(userData, error, epoch, static e => checked((long)e));

    /// <summary>Frees a GCHandle passed as long-lived <c>user_data</c> (client decorator, event router, producer error sink).</summary>
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

    private static CreateStreamDetails ToCreateResult(DsCreateResult* result)
    {
        var offset = NativeString.Read(result->NextOffset);
        return new CreateStreamDetails(
            result->Created != 0 ? CreateStreamResult.Created : CreateStreamResult.AlreadyExisted,
            offset is null ? null : Offset.FromTrusted(offset),
            NativeString.Read(result->ContentType),
            result->Closed != 0);
    }

    private static StreamMetadata ToMetadata(DsStreamInfo* info)
    {
        var expiresRaw = NativeString.Read(info->ExpiresAt);
        DateTimeOffset? expiresAt = expiresRaw is not null
            && DateTimeOffset.TryParse(expiresRaw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
                ? parsed
                : null;
        return new StreamMetadata(
            Exists: true,
            ContentType: NativeString.Read(info->ContentType),
            Offset: Offset.FromTrusted(NativeString.Read(info->NextOffset) ?? "-1"),
            ETag: NativeString.Read(info->ETag),
            CacheControl: NativeString.Read(info->CacheControl),
            Ttl: info->TtlSeconds >= 0 ? TimeSpan.FromSeconds(info->TtlSeconds) : null,
            ExpiresAt: expiresAt,
            StreamClosed: info->Closed != 0)
        {
            ExpiresAtRaw = expiresRaw,
        };
    }

    private static AppendResult ToAppendResult(DsAppendResult* result) =>
        new(NativeString.Read(result->NextOffset) is { } offset ? Offset.FromTrusted(offset) : null)
        {
            StreamClosed = result->Closed != 0,
        };
}
