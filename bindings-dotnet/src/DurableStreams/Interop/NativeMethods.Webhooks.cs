using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

#pragma warning disable CA1815 // opaque marker structs are never compared
internal struct DsWebhookVerifier { }
internal struct DsWebhookWake { }
#pragma warning restore CA1815

/// <summary>The webhook exports of <c>include/durable_streams.h</c>.</summary>
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)]
    internal static partial DsError* ds_webhook_verifier_new(
        DsClient* client,
        byte* jwksUrl,
        ulong toleranceMs,
        byte* subscriptionId,
        DsWebhookVerifier** outVerifier);

    [LibraryImport(Library)]
    internal static partial void ds_webhook_verifier_free(DsWebhookVerifier* verifier);

    [LibraryImport(Library)]
    internal static partial void ds_webhook_verify(
        DsWebhookVerifier* verifier,
        byte* signatureHeader,
        byte* body,
        nuint bodyLen,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, DsWebhookWake*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial DsError* ds_webhook_verify_cached(
        DsWebhookVerifier* verifier,
        byte* signatureHeader,
        byte* body,
        nuint bodyLen,
        DsWebhookWake** outWake);

    [LibraryImport(Library)]
    internal static partial void ds_webhook_verifier_refresh_keys(
        DsWebhookVerifier* verifier,
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, void> callback,
        void* userData);

    [LibraryImport(Library)]
    internal static partial byte* ds_webhook_wake_json(DsWebhookWake* wake);

    [LibraryImport(Library)]
    internal static partial byte* ds_webhook_wake_callback_token(DsWebhookWake* wake);

    [LibraryImport(Library)]
    internal static partial byte* ds_webhook_wake_callback_url(DsWebhookWake* wake);

    [LibraryImport(Library)]
    internal static partial byte* ds_webhook_wake_id(DsWebhookWake* wake);

    [LibraryImport(Library)]
    internal static partial ulong ds_webhook_wake_generation(DsWebhookWake* wake);

    [LibraryImport(Library)]
    internal static partial void ds_webhook_wake_free(DsWebhookWake* wake);

    [LibraryImport(Library)]
    internal static partial void ds_webhook_callback(
        DsClient* client,
        byte* callbackUrl,
        byte* wakeId,
        ulong generation,
        byte* token,
        DsAck* acks,
        nuint count,
        byte done, // C bool
        DsCancel* cancel,
        delegate* unmanaged[Cdecl]<void*, DsError*, byte, void> callback,
        void* userData);
}

/// <summary><c>DsWebhookVerifier*</c>, freed with <c>ds_webhook_verifier_free</c>.</summary>
internal sealed unsafe class WebhookVerifierHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.ds_webhook_verifier_free((DsWebhookVerifier*)handle);
        return true;
    }
}
