using System.Globalization;
using System.Text.Json;

namespace DurableStreams.Subscriptions;

/// <summary>
/// The JSON documents subscriptions cross the native boundary as (their shapes are documented in
/// <c>include/durable_streams.h</c>): the configuration written for <c>ds_subscription_create</c>,
/// and the subscription and claim documents the library reports.
/// </summary>
internal static class SubscriptionJson
{
    /// <summary>The configuration document of <paramref name="options"/>.</summary>
    internal static byte[] Config(SubscriptionOptions options)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (options.Type == SubscriptionType.PullWake)
            {
                writer.WriteString("type", "pull-wake");
                writer.WriteString("wake_stream", options.Target);
            }
            else
            {
                writer.WriteString("type", "webhook");
                writer.WriteStartObject("webhook");
                writer.WriteString("url", options.Target);
                writer.WriteEndObject();
            }
            if (options.Pattern is not null)
            {
                writer.WriteString("pattern", options.Pattern);
            }
            if (options.Streams.Count > 0)
            {
                writer.WriteStartArray("streams");
                foreach (var stream in options.Streams)
                {
                    writer.WriteStringValue(stream);
                }
                writer.WriteEndArray();
            }
            if (options.LeaseTtl is { } ttl)
            {
                // A negative or fractional value reaches the core, which names the field.
                writer.WriteNumber("lease_ttl_ms", Math.Round(ttl.TotalMilliseconds, 3));
            }
            if (options.Description is not null)
            {
                writer.WriteString("description", options.Description);
            }
            writer.WriteEndObject();
        }
        buffer.WriteByte(0);
        return buffer.ToArray();
    }

    /// <summary>Parses the document of <c>ds_subscription_create</c>.</summary>
    internal static SubscriptionCreateResult CreateResult(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new SubscriptionCreateResult(root.GetProperty("created").GetBoolean(), Info(root));
    }

    /// <summary>Parses the document of <c>ds_subscription_get</c>.</summary>
    internal static SubscriptionInfo Info(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Info(document.RootElement);
    }

    /// <summary>Parses the document of <c>ds_claim_json</c>.</summary>
    internal static (string WakeId, long Generation, TimeSpan LeaseTtl, IReadOnlyList<ClaimedStream> Streams) Claim(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var streams = new List<ClaimedStream>();
        foreach (var stream in root.GetProperty("streams").EnumerateArray())
        {
            streams.Add(new ClaimedStream(
                stream.GetProperty("path").GetString()!,
                LinkType(stream.GetProperty("link_type").GetString()),
                Offset.FromTrusted(stream.GetProperty("acked_offset").GetString()!),
                Offset.FromTrusted(stream.GetProperty("tail_offset").GetString()!),
                stream.GetProperty("has_pending").GetBoolean()));
        }
        return (
            root.GetProperty("wake_id").GetString()!,
            root.GetProperty("generation").GetInt64(),
            TimeSpan.FromMilliseconds(root.GetProperty("lease_ttl_ms").GetInt64()),
            streams);
    }

    private static SubscriptionInfo Info(JsonElement root)
    {
        var streams = new List<SubscriptionStreamLink>();
        foreach (var link in root.GetProperty("streams").EnumerateArray())
        {
            streams.Add(new SubscriptionStreamLink(
                link.GetProperty("path").GetString()!,
                LinkType(link.GetProperty("link_type").GetString()),
                Offset.FromTrusted(link.GetProperty("acked_offset").GetString()!)));
        }
        SubscriptionWebhook? webhook = null;
        if (root.GetProperty("webhook") is { ValueKind: JsonValueKind.Object } hook)
        {
            WebhookSigningKey? signing = null;
            if (hook.GetProperty("signing") is { ValueKind: JsonValueKind.Object } key)
            {
                signing = new WebhookSigningKey(
                    key.GetProperty("alg").GetString()!,
                    key.GetProperty("kid").GetString()!,
                    key.GetProperty("jwks_url").GetString()!);
            }
            webhook = new SubscriptionWebhook(hook.GetProperty("url").GetString()!, signing);
        }
        var createdAt = OptionalString(root, "created_at");
        return new SubscriptionInfo
        {
            Id = root.GetProperty("id").GetString()!,
            Type = root.GetProperty("type").GetString() == "webhook" ? SubscriptionType.Webhook : SubscriptionType.PullWake,
            Pattern = OptionalString(root, "pattern"),
            Streams = streams,
            Webhook = webhook,
            WakeStream = OptionalString(root, "wake_stream"),
            LeaseTtl = TimeSpan.FromMilliseconds(root.GetProperty("lease_ttl_ms").GetInt64()),
            CreatedAt = createdAt is not null
                && DateTimeOffset.TryParse(createdAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                    ? at
                    : null,
            Status = root.GetProperty("status").GetString() == "failed" ? SubscriptionStatus.Failed : SubscriptionStatus.Active,
            Description = OptionalString(root, "description"),
        };
    }

    private static SubscriptionLinkType LinkType(string? name) =>
        name == "explicit" ? SubscriptionLinkType.Explicit : SubscriptionLinkType.Glob;

    private static string? OptionalString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
