using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace S2.StreamStore.Interop;

/// <summary>
/// The static completion callbacks of one-shot calls, one per callback type of the header. Each
/// only converts its borrowed result inside <see cref="NativeCall{T}.Complete"/>.
/// </summary>
internal static unsafe partial class NativeCallbacks
{
    internal static delegate* unmanaged[Cdecl]<void*, byte*, S2NativeError*, void> Json => &OnJson;

    internal static delegate* unmanaged[Cdecl]<void*, S2NativeError*, void> Done => &OnDone;

    internal static delegate* unmanaged[Cdecl]<void*, S2AppendAckNative*, S2NativeError*, void> Append => &OnAppend;

    internal static delegate* unmanaged[Cdecl]<void*, S2NativeReadBatch*, S2NativeError*, void> Batch => &OnBatch;

    internal static delegate* unmanaged[Cdecl]<void*, S2NativeReadSession*, S2NativeError*, void> ReadSession => &OnReadSession;

    internal static delegate* unmanaged[Cdecl]<void*, S2PositionNative*, S2NativeError*, void> Position => &OnPosition;

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnJson(void* userData, byte* json, S2NativeError* error) =>
        NativeCall<string>.Complete(userData, error, (nint)json, static j => NativeString.Read((byte*)j) ?? "null");

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnDone(void* userData, S2NativeError* error) =>
        NativeCall<bool>.Complete(userData, error, true, static done => done);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnAppend(void* userData, S2AppendAckNative* ack, S2NativeError* error) =>
        NativeCall<AppendAck>.Complete(userData, error, (nint)ack, static a => ToAck((S2AppendAckNative*)a));

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnBatch(void* userData, S2NativeReadBatch* batch, S2NativeError* error) =>
        NativeCall<ReadBatch?>.Complete(userData, error, (nint)batch, static b => NativeBatch.Take((S2NativeReadBatch*)b));

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnReadSession(void* userData, S2NativeReadSession* session, S2NativeError* error) =>
        NativeCall<ReadSessionHandle>.Complete(userData, error, (nint)session, static s =>
        {
            var handle = new ReadSessionHandle();
            handle.Adopt(s);
            return handle;
        });

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnPosition(void* userData, S2PositionNative* position, S2NativeError* error) =>
        NativeCall<StreamPosition>.Complete(userData, error, (nint)position, static p => new StreamPosition(((S2PositionNative*)p)->SeqNum, ((S2PositionNative*)p)->Timestamp));

    /// <summary>Converts a borrowed acknowledgement.</summary>
    internal static AppendAck ToAck(S2AppendAckNative* ack) => new(
        new StreamPosition(ack->Start.SeqNum, ack->Start.Timestamp),
        new StreamPosition(ack->End.SeqNum, ack->End.Timestamp),
        new StreamPosition(ack->Tail.SeqNum, ack->Tail.Timestamp));
}
