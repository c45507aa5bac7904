using System.Diagnostics;
using System.Reflection;
using Moq;

namespace DurableStreams.Tests;

/// <summary>
/// DurableStreamClient and DurableStream can be mocked (virtual members, protected constructors),
/// and ToString / DebuggerDisplay show the fields of clients, handles, producers, options, events
/// and exceptions without secrets (no header values, no query values, no user info).
/// </summary>
public class MockingAndDisplayTests
{
    private const string Secret = "s3cr3t-value";

    [Fact]
    public async Task DurableStreamClient_can_be_mocked()
    {
        var stream = new Mock<DurableStream>();
        stream.Setup(s => s.Url).Returns("http://example.com/mocked");
        stream.Setup(s => s.AppendAsync(It.IsAny<string>(), It.IsAny<AppendOptions?>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new StreamClosedException("closed"));
        var client = new Mock<DurableStreamClient>();
        client.Setup(c => c.GetStream("/a")).Returns(stream.Object);
        client.Setup(c => c.ConnectAsync("/a", It.IsAny<CancellationToken>())).ReturnsAsync(stream.Object);

        Assert.Same(stream.Object, client.Object.GetStream("/a"));
        var connected = await client.Object.ConnectAsync("/a");
        Assert.Equal("http://example.com/mocked", connected.Url);
        await Assert.ThrowsAsync<StreamClosedException>(() => connected.AppendAsync("x"));
        client.Verify(c => c.GetStream("/a"), Times.Once);
        await client.Object.DisposeAsync(); // no native client behind a double: nothing to release
        client.Object.Dispose();
    }

    [Fact]
    public async Task DurableStream_can_be_mocked()
    {
        var producer = new Mock<IdempotentProducer>();
        var stream = new Mock<DurableStream>();
        stream.Setup(s => s.HeadAsync(It.IsAny<CancellationToken>())).ThrowsAsync(new StreamNotFoundException("missing"));
        stream.Setup(s => s.CreateProducer("p", It.IsAny<IdempotentProducerOptions?>())).Returns(producer.Object);
        stream.Setup(s => s.ContentType).Returns("application/json");
        var response = new Mock<StreamResponse>();
        stream.Setup(s => s.StreamAsync(It.IsAny<StreamOptions?>(), It.IsAny<CancellationToken>())).ReturnsAsync(response.Object);

        await Assert.ThrowsAsync<StreamNotFoundException>(() => stream.Object.HeadAsync());
        Assert.Same(producer.Object, stream.Object.CreateProducer("p"));
        Assert.Equal("application/json", stream.Object.ContentType);
        Assert.Same(response.Object, await stream.Object.StreamAsync());
    }

    [Fact]
    public void Public_members_of_the_client_and_the_stream_handle_are_overridable()
    {
        foreach (var type in new[] { typeof(DurableStreamClient), typeof(DurableStream) })
        {
            Assert.False(type.IsSealed, type.Name);
            // A parameterless constructor for mocking frameworks: protected for the stream handle,
            // public for the client (the official client has a public one: a default client).
            Assert.Contains(type.GetConstructors(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public), c => (c.IsFamily || c.IsPublic) && c.GetParameters().Length == 0);
            var sealedMembers = type.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.DeclaredOnly)
                .Where(m => !m.IsVirtual || m.IsFinal)
                .Select(m => m.Name)
                // Dispose() is the IDisposable pattern: it calls the virtual Dispose(bool).
                .Where(n => n is not "Dispose")
                .ToList();
            Assert.True(sealedMembers.Count == 0, $"{type.Name}: not virtual: {string.Join(", ", sealedMembers)}");
        }
    }

    [Fact]
    public void A_test_double_without_setup_fails_clearly_and_displays_itself()
    {
        var stream = new DoubleStream();
        Assert.Equal("DurableStream (test double)", stream.ToString());
        Assert.Throws<InvalidOperationException>(() => stream.Url);
        // A client subclass is a real, idle client with the default options (no I/O until used).
        var client = new DoubleClient();
        Assert.StartsWith("DurableStreamClient { BaseUrl = null,", client.ToString(), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => client.GetStream("/x")); // relative, and no BaseUrl
        client.Dispose();
        Assert.Throws<ObjectDisposedException>(() => client.GetStream("http://127.0.0.1:1/x"));
    }

    private sealed class DoubleStream : DurableStream
    {
    }

    private sealed class DoubleClient : DurableStreamClient
    {
    }

    [Fact]
    public async Task Client_options_and_stream_show_their_fields_without_secrets()
    {
        var options = new DurableStreamClientOptions
        {
            BaseUrl = $"https://user:{Secret}@example.com/v1/stream?token={Secret}",
            DefaultHeaders = new(StringComparer.OrdinalIgnoreCase) { ["Authorization"] = $"Bearer {Secret}" },
            DynamicHeaders = new(StringComparer.OrdinalIgnoreCase) { ["X-Token"] = _ => ValueTask.FromResult(Secret) },
            DynamicQueryParameters = new(StringComparer.Ordinal) { ["sig"] = _ => ValueTask.FromResult(Secret) },
            MaxRetries = 3,
            RequestTimeout = TimeSpan.FromSeconds(7),
        };
        var text = options.ToString();
        Assert.StartsWith("DurableStreamClientOptions {", text, StringComparison.Ordinal);
        Assert.Contains("https://example.com/v1/stream?token=<redacted>", text, StringComparison.Ordinal);
        Assert.Contains("DefaultHeaders = [Authorization]", text, StringComparison.Ordinal);
        Assert.Contains("DynamicHeaders = [X-Token]", text, StringComparison.Ordinal);
        Assert.Contains("DynamicQueryParameters = [sig]", text, StringComparison.Ordinal);
        Assert.Contains("MaxRetries = 3", text, StringComparison.Ordinal);
        Assert.Contains("RequestTimeout = 00:00:07", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        Assert.Equal(text, DebuggerText(options));

        await using var client = new DurableStreamClient(options);
        var clientText = client.ToString();
        Assert.StartsWith("DurableStreamClient {", clientText, StringComparison.Ordinal);
        Assert.Contains("Authorization", clientText, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, clientText, StringComparison.Ordinal);
        Assert.Equal(clientText, DebuggerText(client));

        var stream = client.GetStream($"/a?sig={Secret}");
        stream.SetContentType("text/plain");
        Assert.StartsWith("https://example.com/v1/stream", stream.ToString(), StringComparison.Ordinal);
        Assert.Contains("=<redacted>", stream.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, stream.ToString(), StringComparison.Ordinal);
        var streamDisplay = DebuggerText(stream);
        Assert.Contains("ContentType = text/plain", streamDisplay, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, streamDisplay, StringComparison.Ordinal);

        await using (var producer = stream.CreateProducer("orders-1", new IdempotentProducerOptions { ShutdownTimeout = TimeSpan.Zero }))
        {
            var producerText = producer.ToString();
            Assert.Contains("ProducerId = orders-1", producerText, StringComparison.Ordinal);
            Assert.Contains("State = open", producerText, StringComparison.Ordinal);
            Assert.Contains("Epoch = 0", producerText, StringComparison.Ordinal);
            Assert.Contains("NextSeq = 0", producerText, StringComparison.Ordinal);
            Assert.Contains("PendingCount = 0", producerText, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, producerText, StringComparison.Ordinal);
            Assert.Equal(producerText, DebuggerText(producer));
            await producer.DisposeAsync();
            Assert.Contains("State = disposed", producer.ToString(), StringComparison.Ordinal);
        }
        await client.DisposeAsync();
        Assert.EndsWith("(disposed)", client.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Producer_options_and_error_events_show_their_fields()
    {
        var options = new IdempotentProducerOptions { Epoch = 4, MaxBatchItems = 10, BufferFullTimeout = TimeSpan.FromSeconds(2), ContentType = "text/plain" };
        var text = options.ToString();
        Assert.Contains("Epoch = 4", text, StringComparison.Ordinal);
        Assert.Contains("MaxBatchItems = 10", text, StringComparison.Ordinal);
        Assert.Contains("BufferFullTimeout = 00:00:02", text, StringComparison.Ordinal);
        Assert.Contains("ContentType = text/plain", text, StringComparison.Ordinal);
        Assert.Contains("MaxBufferedBytes = 67108864", text, StringComparison.Ordinal);
        Assert.Equal(text, DebuggerText(options));

        var args = new ProducerErrorEventArgs(new StaleEpochException("fenced", 7, 403, "http://example.com/s"), 3, 10, 12, 42);
        var argsText = args.ToString();
        Assert.Equal("ProducerErrorEventArgs { Exception = StaleEpochException (Forbidden): fenced, Epoch = 3, FirstSeq = 10, LastSeq = 12, MessageCount = 42, IsRetryable = False }", argsText);
        Assert.Equal(argsText, DebuggerText(args));
    }

    [Fact]
    public void Exceptions_keep_ToString_and_show_their_fields_in_the_debugger()
    {
        var e = new StaleEpochException("fenced", 7, 403, $"http://user:{Secret}@example.com/s?sig={Secret}");
        Assert.StartsWith("DurableStreams.StaleEpochException: fenced", e.ToString(), StringComparison.Ordinal); // Exception.ToString semantics
        var display = DebuggerText(e);
        Assert.Equal("StaleEpochException { Code = Forbidden, CodeName = null, StatusCode = 403, Url = http://example.com/s?sig=<redacted>, CurrentEpoch = 7, Message = fenced }", display);

        var gap = DebuggerText(new SequenceGapException("gap", 5, 9, 409, null));
        Assert.Contains("ExpectedSeq = 5, ReceivedSeq = 9", gap, StringComparison.Ordinal);
        Assert.StartsWith("StreamNotFoundException { Code = NotFound", DebuggerText(new StreamNotFoundException("missing")), StringComparison.Ordinal);
    }

    /// <summary>Evaluates the type's [DebuggerDisplay] as a debugger would (the forms used here: "{Member,nq}" and "{ToString(),nq}").</summary>
    private static string DebuggerText(object value)
    {
        var attribute = value.GetType().GetCustomAttribute<DebuggerDisplayAttribute>(inherit: true);
        Assert.NotNull(attribute);
        var expression = attribute.Value.Trim('{', '}');
        expression = expression.EndsWith(",nq", StringComparison.Ordinal) ? expression[..^3] : expression;
        if (expression == "ToString()")
        {
            return value.ToString()!;
        }
        var flags = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
        for (var type = value.GetType(); type is not null; type = type.BaseType)
        {
            if (type.GetProperty(expression, flags) is { } property)
            {
                return (string)property.GetValue(value)!;
            }
        }
        throw new InvalidOperationException($"no member {expression}");
    }
}
