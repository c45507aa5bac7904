namespace DurableStreams.AspNetCore;

/// <summary>What a webhook handler decided about its wake.</summary>
public enum WebhookResult
{
    /// <summary>The wake is processed: the endpoint answers <c>{ "done": true }</c> and the server acks every stream up to the wake's tail and releases it.</summary>
    Done = 0,

    /// <summary>
    /// The work continues elsewhere: the endpoint answers <c>{}</c> and the wake stays leased. Call
    /// <see cref="Webhooks.WebhookVerifier.CallbackAsync"/> with the wake's <see cref="Webhooks.WebhookWake.Callback"/>
    /// to extend the lease (without <c>done</c>) and to finish (with <c>done</c>) before the lease expires.
    /// </summary>
    Deferred = 1,
}
