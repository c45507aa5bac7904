using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace DurableStreams.Extensions.DependencyInjection;

/// <summary>
/// Binds <see cref="DurableStreamClientOptions"/> from configuration without reflection
/// (trimming/AOT-safe). Keys: <c>BaseUrl</c>, <c>DefaultHeaders:{name}</c>, <c>MaxRetries</c>,
/// <c>InitialRetryDelay</c>, <c>MaxRetryDelay</c>, <c>RetryMultiplier</c>, <c>RequestTimeout</c>,
/// <c>ConnectTimeout</c>, <c>LiveTimeout</c> (durations as <c>hh:mm:ss[.fff]</c>).
/// </summary>
public static class DurableStreamsConfiguration
{
    /// <summary>The configuration section of the default client: <c>DurableStreams</c>.</summary>
    public const string SectionName = "DurableStreams";

    /// <summary>The section path of a client: <c>DurableStreams</c> for the default (empty) name, <c>DurableStreams:Clients:{name}</c> otherwise.</summary>
    /// <param name="name">The client name.</param>
    /// <returns>The section path.</returns>
    public static string SectionPath(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Length == 0 ? SectionName : $"{SectionName}:Clients:{name}";
    }

    /// <summary>Sets the options present in <paramref name="section"/>; absent keys leave the options unchanged.</summary>
    /// <param name="section">The configuration section.</param>
    /// <param name="options">The options to update.</param>
    /// <exception cref="InvalidOperationException">A value cannot be parsed (the message names the key, not the value).</exception>
    public static void Bind(IConfiguration section, DurableStreamClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(options);
        if (section["BaseUrl"] is { Length: > 0 } baseUrl)
        {
            options.BaseUrl = baseUrl;
        }
        foreach (var header in section.GetSection("DefaultHeaders").GetChildren())
        {
            if (header.Value is not null)
            {
                (options.DefaultHeaders ??= new(StringComparer.OrdinalIgnoreCase))[header.Key] = header.Value;
            }
        }
        if (section["MaxRetries"] is { } maxRetries)
        {
            options.MaxRetries = Parse(section, "MaxRetries", maxRetries, static s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture));
        }
        if (section["RetryMultiplier"] is { } multiplier)
        {
            options.RetryMultiplier = Parse(section, "RetryMultiplier", multiplier, static s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture));
        }
        BindTime(section, "InitialRetryDelay", v => options.InitialRetryDelay = v);
        BindTime(section, "MaxRetryDelay", v => options.MaxRetryDelay = v);
        BindTime(section, "RequestTimeout", v => options.RequestTimeout = v);
        BindTime(section, "ConnectTimeout", v => options.ConnectTimeout = v);
        BindTime(section, "LiveTimeout", v => options.LiveTimeout = v);
    }

    private static void BindTime(IConfiguration section, string key, Action<TimeSpan> set)
    {
        if (section[key] is { } value)
        {
            set(Parse(section, key, value, static s => TimeSpan.Parse(s, CultureInfo.InvariantCulture)));
        }
    }

    private static T Parse<T>(IConfiguration section, string key, string value, Func<string, T> parse)
    {
        try
        {
            return parse(value.Trim());
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            var path = section is IConfigurationSection s ? $"{s.Path}:{key}" : key;
            // The value is not echoed: it might be a secret put in the wrong key.
            throw new InvalidOperationException($"The configuration value {path} is not a valid {typeof(T).Name}.", e);
        }
    }
}
