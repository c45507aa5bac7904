using System.Text.Json;
using DurableStreams.Interop;

namespace DurableStreams.Tests;

/// <summary>Tests that need no server.</summary>
public class OffsetTests
{
    [Fact]
    public void Sentinels_have_their_protocol_values()
    {
        Assert.Equal("-1", Offset.Beginning.Value);
        Assert.Equal("now", Offset.Now.Value);
        Assert.True(Offset.Beginning.IsBeginning);
        Assert.True(Offset.Now.IsNow);
        Assert.Equal("-1", Offset.Beginning.ToString());
    }

    [Fact]
    public void Offsets_compare_by_value()
    {
        var a = new Offset("0000_0012");
        var b = new Offset("0000_0012");
        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.False(a != b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, new Offset("0000_0013"));
        Assert.Equal(Offset.Beginning, new Offset("-1"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a,b")]
    [InlineData("a&b")]
    [InlineData("a=b")]
    [InlineData("a?b")]
    [InlineData("a/b")]
    [InlineData("a\nb")]
    [InlineData("a\u0001b")]
    public void Invalid_offsets_are_rejected_naming_the_parameter(string token)
    {
        var e = Assert.Throws<ArgumentException>(() => new Offset(token));
        Assert.Equal("value", e.ParamName);
        Assert.False(Offset.TryParse(token, out _));
    }

    [Fact]
    public void Overlong_and_null_offsets_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new Offset(new string('a', 1025)));
        Assert.Throws<ArgumentNullException>(() => new Offset(null!));
        Assert.True(Offset.TryParse(new string('a', 1024), out _));
    }

    [Fact]
    public void Offsets_round_trip_through_json()
    {
        var json = JsonSerializer.Serialize(new Offset("12_34"));
        Assert.Equal("\"12_34\"", json);
        Assert.Equal(new Offset("12_34"), JsonSerializer.Deserialize<Offset>(json));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Offset>("\"a/b\""));
    }

    [Fact]
    public void Checkpoints_serialize_to_a_string_and_back()
    {
        var withCursor = new StreamCheckpoint(new Offset("0001_0002"), "c-17");
        Assert.Equal("0001_0002,c-17", withCursor.ToString());
        Assert.Equal(withCursor, StreamCheckpoint.Parse(withCursor.ToString()));

        var without = new StreamCheckpoint(Offset.Beginning);
        Assert.Equal("-1", without.ToString());
        Assert.Equal(without, StreamCheckpoint.Parse("-1"));
        Assert.Null(StreamCheckpoint.Parse("-1").Cursor);

        Assert.True(StreamCheckpoint.TryParse("x,y,z", out var odd));
        Assert.Equal("y,z", odd.Cursor);
        Assert.False(StreamCheckpoint.TryParse("a/b,c", out _));
        Assert.False(StreamCheckpoint.TryParse(null, out _));
        Assert.Throws<ArgumentException>(() => StreamCheckpoint.Parse("?"));

        var json = JsonSerializer.Serialize(withCursor);
        Assert.Equal(withCursor, JsonSerializer.Deserialize<StreamCheckpoint>(json));
        Assert.True(withCursor == StreamCheckpoint.Parse("0001_0002,c-17"));
        Assert.True(withCursor != without);
    }

    [Fact]
    public void Stream_options_checkpoint_sets_offset_and_cursor()
    {
        var options = new StreamOptions { Checkpoint = new StreamCheckpoint(new Offset("5_5"), "cur") };
        Assert.Equal(new Offset("5_5"), options.Offset);
        Assert.Equal("cur", options.Cursor);
        Assert.Equal(new StreamCheckpoint(new Offset("5_5"), "cur"), options.Checkpoint);
        Assert.Equal(LiveMode.Off, options.Live);
        Assert.Null(new StreamOptions().Checkpoint);
    }
}

public class OptionsValidationTests
{
    private static ArgumentException Invalid(Action<DurableStreamClientOptions> configure)
    {
        var options = new DurableStreamClientOptions { BaseUrl = "http://127.0.0.1:1" };
        configure(options);
        return Assert.ThrowsAny<ArgumentException>(() => new DurableStreamClient(options));
    }

    [Fact]
    public void Client_options_are_validated_naming_the_property()
    {
        Assert.Equal("MaxRetries", Invalid(o => o.MaxRetries = -1).ParamName);
        Assert.Equal("InitialRetryDelay", Invalid(o => o.InitialRetryDelay = TimeSpan.FromSeconds(-1)).ParamName);
        Assert.Equal("InitialRetryDelay", Invalid(o => o.InitialRetryDelay = TimeSpan.Zero).ParamName);
        Assert.Equal("MaxRetryDelay", Invalid(o => (o.InitialRetryDelay, o.MaxRetryDelay) = (TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1))).ParamName);
        Assert.Equal("RetryMultiplier", Invalid(o => o.RetryMultiplier = 0.5).ParamName);
        Assert.Equal("RetryMultiplier", Invalid(o => o.RetryMultiplier = double.NaN).ParamName);
        Assert.Equal("RetryMultiplier", Invalid(o => o.RetryMultiplier = double.PositiveInfinity).ParamName);
        Assert.Equal("DynamicQueryParameters", Invalid(o => o.DynamicQueryParameters![""] = _ => ValueTask.FromResult("x")).ParamName);
        Assert.Equal("DynamicQueryParameters", Invalid(o => o.DynamicQueryParameters!["p"] = null!).ParamName);
        Assert.Equal("DynamicQueryParameters", Invalid(o => o.DynamicQueryParameters!["offset"] = _ => ValueTask.FromResult("x")).ParamName);
        Assert.Equal("MaxRetryDelay", Invalid(o => o.MaxRetryDelay = TimeSpan.FromMilliseconds(1)).ParamName);
        Assert.Equal("RequestTimeout", Invalid(o => o.RequestTimeout = TimeSpan.Zero).ParamName);
        Assert.Equal("ConnectTimeout", Invalid(o => o.ConnectTimeout = TimeSpan.FromSeconds(-5)).ParamName);
        Assert.Equal("LiveTimeout", Invalid(o => o.LiveTimeout = TimeSpan.Zero).ParamName);
        Assert.Equal("BaseUrl", Invalid(o => o.BaseUrl = "not a url").ParamName);
        Assert.Equal("BaseUrl", Invalid(o => o.BaseUrl = "ftp://host/x").ParamName);
        Assert.Equal("DefaultHeaders", Invalid(o => o.DefaultHeaders = new Dictionary<string, string> { [""] = "x" }).ParamName);
        Assert.Throws<ArgumentNullException>(() => new DurableStreamClient(null!));
    }

    [Fact]
    public void Null_header_and_parameter_dictionaries_mean_none()
    {
        // The official client's options are nullable; null is an empty set, never a crash.
        var options = new DurableStreamClientOptions { DefaultHeaders = null, DynamicHeaders = null, DynamicQueryParameters = null };
        using var client = new DurableStreamClient(options);
        Assert.Contains("DefaultHeaders = [], DynamicHeaders = [], DynamicQueryParameters = []", client.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Client_defaults_are_documented_values()
    {
        var o = new DurableStreamClientOptions();
        Assert.Null(o.BaseUrl);
        Assert.Equal(5, o.MaxRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(100), o.InitialRetryDelay);
        Assert.Equal(TimeSpan.FromSeconds(30), o.MaxRetryDelay);
        Assert.Equal(2.0, o.RetryMultiplier);
        Assert.Equal(TimeSpan.FromSeconds(30), o.RequestTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), o.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(75), o.LiveTimeout);
        Assert.Empty(o.DefaultHeaders!);
        Assert.Empty(o.DynamicHeaders!);
        Assert.Empty(o.DynamicQueryParameters!);
        Assert.Null(o.JsonSerializerOptions);
    }

    [Fact]
    public async Task Create_options_are_validated_naming_the_property()
    {
        await using var client = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = "http://127.0.0.1:1" });
        var stream = client.GetStream("/x");
        Assert.Equal("Ttl", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => stream.CreateAsync(new CreateStreamOptions { Ttl = TimeSpan.FromSeconds(-1) }))).ParamName);
        Assert.Equal("Ttl", (await Assert.ThrowsAsync<ArgumentException>(() => stream.CreateAsync(new CreateStreamOptions { Ttl = TimeSpan.FromMilliseconds(1500) }))).ParamName);
        Assert.Equal("ExpiresAt", (await Assert.ThrowsAsync<ArgumentException>(() => stream.CreateAsync(new CreateStreamOptions { Ttl = TimeSpan.FromSeconds(5), ExpiresAt = DateTimeOffset.UtcNow }))).ParamName);
        Assert.Equal("ContentType", (await Assert.ThrowsAsync<ArgumentException>(() => stream.CreateAsync(new CreateStreamOptions { ContentType = " " }))).ParamName);
        Assert.Equal("ForkFrom", (await Assert.ThrowsAsync<ArgumentException>(() => stream.CreateAsync(new CreateStreamOptions { ForkOffset = Offset.Beginning }))).ParamName);
        Assert.Equal("ForkSubOffset", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => stream.CreateAsync(new CreateStreamOptions { ForkFrom = "/a", ForkSubOffset = -1 }))).ParamName);
        Assert.Equal("data", (await Assert.ThrowsAsync<ArgumentException>(() => stream.AppendAsync(ReadOnlyMemory<byte>.Empty))).ParamName);
        Assert.Equal("data", (await Assert.ThrowsAsync<ArgumentException>(() => stream.AppendAsync(""))).ParamName);
    }

    [Fact]
    public async Task Producer_options_are_validated_naming_the_property()
    {
        await using var client = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = "http://127.0.0.1:1" });
        var stream = client.GetStream("/x");
        string Name(IdempotentProducerOptions o) => Assert.ThrowsAny<ArgumentException>(() => stream.CreateProducer("p", o)).ParamName!;
        Assert.Equal("Epoch", Name(new IdempotentProducerOptions { Epoch = -1 }));
        Assert.Equal("Epoch", Name(new IdempotentProducerOptions { Epoch = IdempotentProducerOptions.MaxEpoch + 1 }));
        Assert.Equal("MaxBatchBytes", Name(new IdempotentProducerOptions { MaxBatchBytes = 0 }));
        Assert.Equal("MaxBatchItems", Name(new IdempotentProducerOptions { MaxBatchItems = 0 }));
        Assert.Equal("MaxInFlight", Name(new IdempotentProducerOptions { MaxInFlight = 0 }));
        Assert.Equal("MaxBufferedMessages", Name(new IdempotentProducerOptions { MaxBufferedMessages = 0 }));
        Assert.Equal("MaxBufferedBytes", Name(new IdempotentProducerOptions { MaxBufferedBytes = 0 }));
        Assert.Equal("Linger", Name(new IdempotentProducerOptions { Linger = TimeSpan.FromMilliseconds(-1) }));
        Assert.Equal("DeliveryTimeout", Name(new IdempotentProducerOptions { DeliveryTimeout = TimeSpan.Zero }));
        Assert.Equal("producerId", Assert.ThrowsAny<ArgumentException>(() => stream.CreateProducer("")).ParamName);
        Assert.Equal("producerId", Assert.ThrowsAny<ArgumentException>(() => stream.CreateProducer("bad\nid")).ParamName);
    }

    [Fact]
    public async Task Urls_are_validated_naming_the_parameter()
    {
        await using var noBase = new DurableStreamClient(new DurableStreamClientOptions());
        var e = Assert.Throws<ArgumentException>(() => noBase.GetStream("/relative/without/base"));
        Assert.Equal("url", e.ParamName);
        Assert.Contains("base URL", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<ArgumentException>(() => noBase.GetStream("ftp://host/x"));
        Assert.Throws<ArgumentNullException>(() => noBase.GetStream((string)null!));
        Assert.Equal("http://example.com/a/b", noBase.GetStream(new Uri("http://example.com/a/b")).Url);

        await using var withBase = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = "http://example.com/v1/stream/" });
        Assert.Equal("http://example.com/v1/stream/a/b", withBase.GetStream("/a/b").Url);
        Assert.Equal("http://example.com/v1/stream/a/b", withBase.GetStream(new Uri("/a/b", UriKind.Relative)).Url);
        Assert.Equal("http://example.com/v1/stream/a/b", withBase.GetStream("/a/b").ToString());
    }

    [Fact]
    public void Native_library_is_loaded_and_versioned()
    {
        Assert.False(string.IsNullOrWhiteSpace(DurableStreamClient.CoreVersion));
        Assert.Equal(NativeMethods.ExpectedAbiVersion, NativeMethods.ds_abi_version());
    }

    [Fact]
    public async Task Mockable_types_have_protected_constructors_and_virtual_members()
    {
        foreach (var type in new[] { typeof(IdempotentProducer), typeof(StreamResponse) })
        {
            Assert.False(type.IsSealed);
            Assert.Contains(type.GetConstructors(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic), c => c.IsFamily && c.GetParameters().Length == 0);
            foreach (var method in type.GetMethods(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.DeclaredOnly))
            {
                if (method.IsSpecialName && (method.Name.StartsWith("add_", StringComparison.Ordinal) || method.Name.StartsWith("remove_", StringComparison.Ordinal)))
                {
                    continue;
                }
                Assert.True(method.IsVirtual, $"{type.Name}.{method.Name} should be virtual for mocking");
            }
        }
        // A hand-written test double (what Moq generates) works without a native object.
        var fake = new FakeProducer();
        fake.Append("token");
        Assert.Equal(["token"], fake.Appended);
        await Assert.ThrowsAsync<InvalidOperationException>(() => new FakeResponse().ReadAllBytesAsync());
    }

    private sealed class FakeProducer : IdempotentProducer
    {
        public List<string> Appended { get; } = [];

        public override void Append(string data) => Appended.Add(data);
    }

    private sealed class FakeResponse : StreamResponse
    {
    }
}
