using System.Text.Json.Serialization;
using S2.StreamStore.Json;

namespace S2.StreamStore;

/// <summary>A basin's configuration. In a reconfiguration, a null property stays as it is.</summary>
public sealed class BasinConfig
{
    /// <summary>The configuration new streams get.</summary>
    public StreamConfig? DefaultStreamConfig { get; set; }

    /// <summary>The cipher of new streams: <c>aegis-256</c> or <c>aes-256-gcm</c> (null: none).</summary>
    public string? StreamCipher { get; set; }

    /// <summary>Whether an append to a missing stream creates it.</summary>
    public bool? CreateStreamOnAppend { get; set; }

    /// <summary>Whether a read of a missing stream creates it.</summary>
    public bool? CreateStreamOnRead { get; set; }
}

/// <summary>A stream's configuration. In a reconfiguration, a null property stays as it is.</summary>
public sealed class StreamConfig
{
    /// <summary>The storage class.</summary>
    public StorageClass? StorageClass { get; set; }

    /// <summary>How long records are kept.</summary>
    public RetentionPolicy? RetentionPolicy { get; set; }

    /// <summary>How record timestamps are set.</summary>
    public Timestamping? Timestamping { get; set; }

    /// <summary>Delete the stream once it has been empty for a while.</summary>
    public DeleteOnEmpty? DeleteOnEmpty { get; set; }
}

/// <summary>A stream's storage class.</summary>
[JsonConverter(typeof(KebabCaseEnumConverter<StorageClass>))]
public enum StorageClass
{
    /// <summary>Standard storage (<c>standard</c>).</summary>
    Standard,

    /// <summary>Lower-latency storage (<c>express</c>).</summary>
    Express,
}

/// <summary>How long a stream keeps its records.</summary>
[JsonConverter(typeof(RetentionPolicyConverter))]
public sealed class RetentionPolicy
{
    private RetentionPolicy(TimeSpan? age) => Age = age;

    /// <summary>Records are kept forever.</summary>
    public static RetentionPolicy Infinite { get; } = new(null);

    /// <summary>Records older than <see cref="Age"/> are deleted; null for <see cref="Infinite"/>.</summary>
    public TimeSpan? Age { get; }

    /// <summary>Records are kept for <paramref name="age"/> (whole seconds, at least one).</summary>
    /// <param name="age">The age.</param>
    public static RetentionPolicy ForAge(TimeSpan age)
    {
        if (age < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(age), age, "A retention age is at least one second.");
        }
        return new RetentionPolicy(TimeSpan.FromSeconds(Math.Floor(age.TotalSeconds)));
    }
}

/// <summary>How record timestamps are set.</summary>
public sealed class Timestamping
{
    /// <summary>The mode.</summary>
    public TimestampingMode? Mode { get; set; }

    /// <summary>Whether client timestamps may be in the future.</summary>
    public bool? Uncapped { get; set; }
}

/// <summary>Where record timestamps come from.</summary>
[JsonConverter(typeof(KebabCaseEnumConverter<TimestampingMode>))]
public enum TimestampingMode
{
    /// <summary>The client's timestamp if given, else the arrival time (<c>client-prefer</c>).</summary>
    ClientPrefer,

    /// <summary>The client's timestamp, required (<c>client-require</c>).</summary>
    ClientRequire,

    /// <summary>The arrival time (<c>arrival</c>).</summary>
    Arrival,
}

/// <summary>Deletes a stream once it has been empty for <see cref="MinAgeSecs"/> seconds.</summary>
public sealed class DeleteOnEmpty
{
    /// <summary>Seconds the stream must be empty (0: disabled).</summary>
    public ulong MinAgeSecs { get; set; }
}
