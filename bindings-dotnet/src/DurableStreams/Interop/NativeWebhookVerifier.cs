using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using DurableStreams.Subscriptions;
using DurableStreams.Webhooks;

namespace DurableStreams.Interop;

/// <summary>
/// The native webhook verifier (<c>DsWebhookVerifier</c>) of a <see cref="NativeClient"/>, and
/// the webhook callback call. Every call fails with <see cref="ObjectDisposedException"/> once
/// the verifier or its client is disposed.
/// </summary>
internal sealed unsafe class NativeWebhookVerifier : NativeObject, IDisposable
{
    private readonly NativeClient _client;
    private readonly WebhookVerifierHandle _handle;

    private NativeWebhookVerifier(NativeClient client, WebhookVerifierHandle handle)
    {
        _client = client;
        _handle = handle;
    }

    private protected override string PublicName => nameof(WebhookVerifier);

    private protected override NativeHandle Handle => _handle;

    /// <summary>A verifier (<c>ds_webhook_verifier_new</c>); 0 ms means the default window.</summary>
    /// <exception cref="ArgumentException">The core rejected an option (named after the option's property).</exception>
    internal static NativeWebhookVerifier Create(NativeClient client, string? jwksUrl, ulong toleranceMs, string? subscriptionId)
    {
        var handle = new WebhookVerifierHandle();
        var urlBytes = NativeString.ToUtf8Z(jwksUrl, nameof(WebhookVerifierOptions.JwksUrl));
        var idBytes = NativeString.ToUtf8Z(subscriptionId, nameof(WebhookVerifierOptions.SubscriptionId));
        DsWebhookVerifier* verifier = null;
        DsError* error;
        using (var lease = client.Lease())
        {
            fixed (byte* u = urlBytes)
            fixed (byte* i = idBytes)
            {
                error = NativeMethods.ds_webhook_verifier_new((DsClient*)lease.Pointer, u, toleranceMs, i, &verifier);
            }
        }
        if (error != null)
        {
            var message = NativeString.Read(NativeMethods.ds_error_message(error)) ?? string.Empty;
            // The core's message names the C parameter it rejected.
            var option = message.Contains("tolerance_ms", StringComparison.Ordinal) ? nameof(WebhookVerifierOptions.Tolerance)
                : message.Contains("subscription_id", StringComparison.Ordinal) ? nameof(WebhookVerifierOptions.SubscriptionId)
                : nameof(WebhookVerifierOptions.JwksUrl);
            throw NativeErrors.TakeAsArgumentException(error, option);
        }
        handle.Adopt((nint)verifier);
        return new NativeWebhookVerifier(client, handle);
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

    /// <summary><c>ds_webhook_verify</c>: the header and body are copied before the native call returns.</summary>
    internal Task<WebhookWake> VerifyAsync(string signatureHeader, ReadOnlyMemory<byte> body, CancellationToken cancellationToken) =>
        NativeCall<WebhookWake>.Start(this, cancellationToken, null, (NativeString.ToUtf8Z(signatureHeader, nameof(signatureHeader)), body), static (state, verifier, cancel, userData) =>
        {
            var (header, body) = state;
            using var pinned = body.Pin();
            fixed (byte* h = header)
            {
                NativeMethods.ds_webhook_verify((DsWebhookVerifier*)verifier, h, (byte*)pinned.Pointer, (nuint)body.Length, (DsCancel*)cancel, WebhookCallbacks.Wake, (void*)userData);
            }
        });

    /// <summary><c>ds_webhook_verifier_refresh_keys</c>.</summary>
    internal Task<bool> RefreshKeysAsync(CancellationToken cancellationToken) =>
        NativeCall<bool>.Start(this, cancellationToken, null, 0, static (_, verifier, cancel, userData) =>
            NativeMethods.ds_webhook_verifier_refresh_keys((DsWebhookVerifier*)verifier, (DsCancel*)cancel, NativeCallbacks.Done, (void*)userData));

    /// <summary><c>ds_webhook_callback</c> through <paramref name="client"/>; the result is <c>next_wake</c>.</summary>
    internal static Task<bool> CallbackAsync(NativeClient client, WebhookCallback callback, IReadOnlyList<SubscriptionAck> acks, bool done, CancellationToken cancellationToken)
    {
        var strings = new byte[3 + (acks.Count * 2)][];
        strings[0] = NativeString.ToUtf8Z(callback.Url.AbsoluteUri, nameof(callback.Url));
        strings[1] = NativeString.ToUtf8Z(callback.WakeId, nameof(callback.WakeId));
        strings[2] = NativeString.ToUtf8Z(callback.Token, nameof(callback.Token));
        for (var i = 0; i < acks.Count; i++)
        {
            strings[3 + (2 * i)] = NativeString.ToUtf8Z(acks[i].Stream, $"acks[{i}].Stream");
            strings[4 + (2 * i)] = NativeString.ToUtf8Z(acks[i].Offset.ToString(), $"acks[{i}].Offset");
        }
        return NativeCall<bool>.Start(client, cancellationToken, null, (strings, (ulong)callback.Generation, done), static (state, client, cancel, userData) =>
        {
            var (strings, generation, done) = state;
            var pins = new GCHandle[strings.Length];
            var entries = new DsAck[(strings.Length - 3) / 2];
            try
            {
                for (var i = 0; i < strings.Length; i++)
                {
                    pins[i] = GCHandle.Alloc(strings[i], GCHandleType.Pinned);
                }
                for (var i = 0; i < entries.Length; i++)
                {
                    entries[i].Stream = (byte*)pins[3 + (2 * i)].AddrOfPinnedObject();
                    entries[i].Offset = (byte*)pins[4 + (2 * i)].AddrOfPinnedObject();
                }
                fixed (DsAck* a = entries)
                {
                    NativeMethods.ds_webhook_callback(
                        (DsClient*)client,
                        (byte*)pins[0].AddrOfPinnedObject(),
                        (byte*)pins[1].AddrOfPinnedObject(),
                        generation,
                        (byte*)pins[2].AddrOfPinnedObject(),
                        a,
                        (nuint)entries.Length,
                        done ? (byte)1 : (byte)0,
                        (DsCancel*)cancel,
                        SubscriptionCallbacks.Ack,
                        (void*)userData);
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

    public void Dispose() => _handle.Dispose();
}

/// <summary>The completion callback of <c>ds_webhook_verify</c>.</summary>
internal static unsafe class WebhookCallbacks
{
    internal static delegate* unmanaged[Cdecl]<void*, DsError*, DsWebhookWake*, void> Wake => &OnWake;

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnWake(void* userData, DsError* error, DsWebhookWake* wake) =>
        // The callback owns the wake: it is copied to managed objects and freed here.
        NativeCall<WebhookWake>.Complete(userData, error, (nint)wake, static w => Adopt((DsWebhookWake*)w));

    private static WebhookWake Adopt(DsWebhookWake* wake)
    {
        try
        {
            var json = NativeString.Read(NativeMethods.ds_webhook_wake_json(wake)) ?? "{}";
            var token = NativeString.Read(NativeMethods.ds_webhook_wake_callback_token(wake)) ?? string.Empty;
            return Parse(json, token);
        }
        finally
        {
            NativeMethods.ds_webhook_wake_free(wake);
        }
    }

    /// <summary>Parses the document of <c>ds_webhook_wake_json</c> (checked by the core).</summary>
    internal static WebhookWake Parse(string json, string token)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var streams = new List<ClaimedStream>();
        foreach (var stream in root.GetProperty("streams").EnumerateArray())
        {
            streams.Add(new ClaimedStream(
                stream.GetProperty("path").GetString()!,
                stream.GetProperty("link_type").GetString() == "explicit" ? SubscriptionLinkType.Explicit : SubscriptionLinkType.Glob,
                Offset.FromTrusted(stream.GetProperty("acked_offset").GetString()!),
                Offset.FromTrusted(stream.GetProperty("tail_offset").GetString()!),
                stream.GetProperty("has_pending").GetBoolean()));
        }
        var callback = new WebhookCallback(
            new Uri(root.GetProperty("callback_url").GetString()!, UriKind.Absolute),
            root.GetProperty("wake_id").GetString()!,
            root.GetProperty("generation").GetInt64(),
            token);
        return new WebhookWake(
            root.GetProperty("subscription_id").GetString()!,
            streams,
            callback,
            DateTimeOffset.FromUnixTimeSeconds(root.GetProperty("signed_at").GetInt64()),
            root.GetProperty("key_id").GetString()!);
    }
}
