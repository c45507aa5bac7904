using DurableStreams.Interop;
using DurableStreams.Subscriptions;

namespace DurableStreams.Webhooks;

/// <summary>
/// Verifies the signed webhook deliveries of one Durable Streams server (the protocol's
/// <c>Webhook-Signature</c>: Ed25519 over <c>&lt;t&gt;.&lt;raw body&gt;</c>) and parses their wakes.
/// The check runs in the native core: the key is chosen by <c>kid</c> from the server's JWKS
/// (fetched over the client's HTTP stack on first use, cached, refetched on an unknown <c>kid</c>
/// at most every 30 seconds), the timestamp must be inside <see cref="WebhookVerifierOptions.Tolerance"/>,
/// and a signature already accepted is refused as a replay. Thread-safe; dispose it when done.
/// </summary>
/// <example>
/// <code>
/// using var verifier = new WebhookVerifier(client, new WebhookVerifierOptions { SubscriptionId = "orders" });
/// var wake = await verifier.VerifyAsync(signatureHeader, rawBody, ct); // WebhookRejectedException: answer 401
/// foreach (var stream in wake.Streams) { /* read stream.Path after stream.AckedOffset */ }
/// await verifier.CallbackAsync(wake.Callback, wake.TailAcks(), done: true, ct);
/// </code>
/// </example>
public sealed class WebhookVerifier : IDisposable
{
    /// <summary>The name of the header carrying a delivery's signature: <c>Webhook-Signature</c>.</summary>
    public const string SignatureHeaderName = "Webhook-Signature";

    private readonly DurableStreamClient _client;
    private readonly NativeWebhookVerifier _native;

    /// <summary>Creates a verifier for the server <paramref name="client"/> talks to. No I/O happens here.</summary>
    /// <param name="client">The client whose base URL is the server's stream root (and whose HTTP stack fetches the keys).</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid (named after the option), or the client has no base URL and no <see cref="WebhookVerifierOptions.JwksUrl"/> is set.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public WebhookVerifier(DurableStreamClient client, WebhookVerifierOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        options ??= new WebhookVerifierOptions();
        if (options.Tolerance < TimeSpan.FromSeconds(1) || options.Tolerance > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Tolerance, "WebhookVerifierOptions.Tolerance must be from 1 second to 1 hour.");
        }
        if (options.JwksUrl is { IsAbsoluteUri: false })
        {
            throw new ArgumentException("WebhookVerifierOptions.JwksUrl must be an absolute URL.", nameof(options));
        }
        _client = client;
        _native = NativeWebhookVerifier.Create(
            client.NativeClient,
            options.JwksUrl?.AbsoluteUri,
            (ulong)options.Tolerance.TotalMilliseconds,
            options.SubscriptionId);
    }

    /// <summary>
    /// Verifies one delivery and returns its wake. Fetches the server's keys when none are cached
    /// or the delivery's <c>kid</c> is unknown.
    /// </summary>
    /// <param name="signatureHeader">The value of the request's <c>Webhook-Signature</c> header.</param>
    /// <param name="body">The exact request body bytes (not re-serialized JSON).</param>
    /// <param name="cancellationToken">Cancels the verification (and a key fetch it started).</param>
    /// <returns>The verified wake.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="signatureHeader"/> is null.</exception>
    /// <exception cref="WebhookRejectedException">The delivery must be rejected (answer 401); the message says why.</exception>
    /// <exception cref="DurableStreamException">The keys could not be fetched, or a correctly signed body is not a wake.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<WebhookWake> VerifyAsync(string signatureHeader, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signatureHeader);
        try
        {
            return await _native.VerifyAsync(signatureHeader, body, cancellationToken).ConfigureAwait(false);
        }
        catch (DurableStreamException e) when (e.Code == DurableStreamErrorCode.Unauthorized && e.StatusCode is null)
        {
            throw new WebhookRejectedException(e.Message, e);
        }
    }

    /// <summary>Fetches the server's JWK Set now and replaces the cached keys.</summary>
    /// <param name="cancellationToken">Cancels the fetch.</param>
    /// <returns>A task that completes when the keys are loaded.</returns>
    /// <exception cref="DurableStreamException">The keys could not be fetched or parsed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task RefreshKeysAsync(CancellationToken cancellationToken = default) => _native.RefreshKeysAsync(cancellationToken);

    /// <summary>
    /// Answers a wake (<c>POST {callback URL}</c> with its bearer token): applies <paramref name="acks"/>
    /// (each stream's processed offset, inclusive) and, with <paramref name="done"/>, releases the wake;
    /// without it, only extends the lease.
    /// </summary>
    /// <param name="callback">The wake's <see cref="WebhookWake.Callback"/> (or one rebuilt from saved parts).</param>
    /// <param name="acks">The processed positions; empty to ack nothing.</param>
    /// <param name="done">Whether the wake is finished.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>With <paramref name="done"/>: whether work was still pending and a new wake was issued.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="SubscriptionFencedException">The wake is no longer current; nothing was applied.</exception>
    /// <exception cref="DurableStreamException">The token was refused (<see cref="DurableStreamErrorCode.Unauthorized"/>), an offset was invalid, or the request failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<bool> CallbackAsync(WebhookCallback callback, IReadOnlyList<SubscriptionAck> acks, bool done, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ArgumentNullException.ThrowIfNull(acks);
        return NativeWebhookVerifier.CallbackAsync(_client.NativeClient, callback, acks, done, cancellationToken);
    }

    /// <summary>Frees the native verifier. Verifications already started finish.</summary>
    public void Dispose() => _native.Dispose();
}
