using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DurableStreams.Subscriptions;

namespace DurableStreams.Interop;

/// <summary>
/// The completion callbacks of the subscription exports (as <see cref="NativeCallbacks"/> for the
/// stream ones): each converts its borrowed result inside <see cref="NativeCall{T}.Complete"/>.
/// </summary>
internal static unsafe class SubscriptionCallbacks
{
    internal static delegate* unmanaged[Cdecl]<void*, DsError*, byte*, void> Json => &OnJson;

    internal static delegate* unmanaged[Cdecl]<void*, DsError*, DsClaim*, void> Claim => &OnClaim;

    internal static delegate* unmanaged[Cdecl]<void*, DsError*, byte, void> Ack => &OnAck;

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnJson(void* userData, DsError* error, byte* json) =>
        NativeCall<string>.Complete(userData, error, (nint)json, static j => NativeString.Read((byte*)j) ?? "{}");

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnClaim(void* userData, DsError* error, DsClaim* claim) =>
        // The callback owns the claim: the handle adopts it before anything else can fail.
        NativeCall<SubscriptionClaim?>.Complete(userData, error, (nint)claim, static c => Adopt((DsClaim*)c));

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnAck(void* userData, DsError* error, byte nextWake) =>
        NativeCall<bool>.Complete(userData, error, nextWake, static n => n != 0);

    private static SubscriptionClaim? Adopt(DsClaim* claim)
    {
        if (claim == null)
        {
            return null;
        }
        var native = NativeClaim.Adopt(claim);
        try
        {
            return new SubscriptionClaim(native);
        }
        catch
        {
            native.Dispose();
            throw;
        }
    }
}
