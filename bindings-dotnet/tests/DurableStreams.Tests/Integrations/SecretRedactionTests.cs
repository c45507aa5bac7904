using System.Collections.Concurrent;
using System.Diagnostics;
using DurableStreams.Diagnostics;
using DurableStreams.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace DurableStreams.Tests.Integrations;

/// <summary>
/// Issue 14, secrets: a token in the URL query, a password in the URL's user info and a value
/// from DynamicQueryParameters never appear in a text that leaves the library (exception
/// messages and ToString, logs at Trace, activity tags and status, ToString of the main types).
/// </summary>
[Collection(IntegrationCollection.Name)]
public class SecretRedactionTests : ServerTest
{
    private const string QuerySecret = "QSECRET-5d1e8c";
    private const string PasswordSecret = "PSECRET-93af02";
    private const string DynamicSecret = "DSECRET-c47b19";
    private static readonly string[] s_secrets = [QuerySecret, PasswordSecret, DynamicSecret];

    public SecretRedactionTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [InlineData("http://user:pw@h:1/a/b?sig=abc&x=1&flag", "http://h:1/a/b?sig=<redacted>&x=<redacted>&flag")]
    [InlineData("https://h/a#frag", "https://h/a#<redacted>")]
    [InlineData("https://h/a?x=1#frag", "https://h/a?x=<redacted>#<redacted>")]
    [InlineData("/rel/path?token=t", "/rel/path?token=<redacted>")]
    [InlineData("http://h/a?sig=<redacted>", "http://h/a?sig=<redacted>")]
    [InlineData("http://h/p@x?q=1", "http://h/p@x?q=<redacted>")]
    public void Redaction_removes_user_info_and_query_values(string url, string expected)
    {
        Assert.Equal(expected, Redaction.Url(url));
        Assert.Equal(expected, Redaction.Url(Redaction.Url(url)));
    }

    [Fact]
    public void Redaction_cleans_urls_inside_text()
    {
        var text = "request to http://u:p@h:1/s?sig=abc failed (see \"https://h/x?t=2\"). Retry http://h/ok.";
        var clean = Redaction.Text(text);
        Assert.Equal("request to http://h:1/s?sig=<redacted> failed (see \"https://h/x?t=<redacted>\"). Retry http://h/ok.", clean);
        Assert.Equal(clean, Redaction.Text(clean));
    }

    private sealed class Capture : IDisposable
    {
        private readonly ActivityListener _listener;

        public Capture()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == DurableStreamsDiagnostics.ActivitySourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a => Activities.Enqueue(a),
            };
            ActivitySource.AddActivityListener(_listener);
            Factory = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
        }

        public CapturingLoggerProvider Logs { get; } = new();

        public ILoggerFactory Factory { get; }

        public ConcurrentQueue<Activity> Activities { get; } = new();

        public ConcurrentQueue<(string Where, string Text)> Texts { get; } = new();

        public void Add(string where, object? value)
        {
            if (value is not null)
            {
                Texts.Enqueue((where, value.ToString() ?? string.Empty));
            }
        }

        public void AddException(string where, Exception e)
        {
            Add(where + " ToString", e);
            Add(where + " Message", e.Message);
            if (e is DurableStreamException d)
            {
                Add(where + " Url", d.Url);
                Add(where + " ServerMessage", d.ServerMessage);
            }
        }

        /// <summary>Every captured text that holds a secret.</summary>
        public List<string> Leaks()
        {
            var all = new List<(string Where, string Text)>(Texts);
            foreach (var r in Logs.Records)
            {
                all.Add(($"log {r.EventId.Name}", r.Message));
                all.AddRange(r.State.Select(kv => ($"log {r.EventId.Name} {kv.Key}", kv.Value?.ToString() ?? string.Empty)));
                if (r.Exception is not null)
                {
                    all.Add(($"log {r.EventId.Name} exception", r.Exception.ToString()));
                }
            }
            foreach (var a in Activities)
            {
                all.Add(($"activity {a.DisplayName}", a.DisplayName));
                all.Add(($"activity {a.DisplayName} status", a.StatusDescription ?? string.Empty));
                all.AddRange(a.TagObjects.Select(t => ($"activity {a.DisplayName} {t.Key}", t.Value?.ToString() ?? string.Empty)));
                all.AddRange(a.Events.Select(e => ($"activity {a.DisplayName} event", e.Name)));
            }
            return all.Where(t => s_secrets.Any(s => t.Text.Contains(s, StringComparison.Ordinal)))
                .Select(t => $"{t.Where}: {t.Text}")
                .ToList();
        }

        public void Dispose()
        {
            _listener.Dispose();
            Factory.Dispose();
        }
    }

    private static string WithUserInfo(string url) => url.Replace("://", $"://user:{PasswordSecret}@", StringComparison.Ordinal);

    private static void Configure(DurableStreamClientOptions o, Capture capture)
    {
        o.LoggerFactory = capture.Factory;
        o.DynamicQueryParameters!["token"] = _ => ValueTask.FromResult(DynamicSecret);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task No_secret_in_texts_on_a_missing_stream(string kind)
    {
        using var capture = new Capture();
        foreach (var userInfo in new[] { false, true })
        {
            await using var client = NewClient(kind, o =>
            {
                Configure(o, capture);
                if (userInfo)
                {
                    o.BaseUrl = WithUserInfo(o.BaseUrl!);
                }
            });
            capture.Add("client ToString", client);
            var stream = client.GetStream(NewPath("missing") + "?sig=" + QuerySecret);
            capture.Add("stream ToString", stream);
            capture.AddException("head", await Assert.ThrowsAsync<StreamNotFoundException>(() => stream.HeadAsync(Timeout())));
            capture.AddException("append", await Assert.ThrowsAnyAsync<DurableStreamException>(() => stream.AppendAsync("x", cancellationToken: Timeout())));
            capture.AddException("read", await Assert.ThrowsAnyAsync<DurableStreamException>(() => stream.StreamAsync(cancellationToken: Timeout())));
            capture.AddException("delete", await Assert.ThrowsAnyAsync<DurableStreamException>(() => stream.DeleteAsync(Timeout())));

            var typed = client.GetStream<MyEvent>(NewPath("typed") + "?sig=" + QuerySecret, IntegrationJsonContext.Default.MyEvent);
            capture.Add("typed stream ToString", typed);

            // A stream that exists, read through a URL carrying the secrets.
            await using var owner = NewClient(kind);
            var created = await NewStreamAsync(owner, "application/json");
            var sameStream = client.GetStream(created.Url + "?sig=" + QuerySecret);
            capture.Add("stream ToString", sameStream);
            await using (var producer = sameStream.CreateProducer("redaction-1", new IdempotentProducerOptions { ContentType = "application/json" }))
            {
                capture.Add("producer ToString", producer);
                producer.Append(new MyEvent("a", 1));
                try
                {
                    await producer.FlushAsync(Timeout());
                }
                catch (Exception e)
                {
                    capture.AddException("producer flush", e);
                }
            }
            try
            {
                await using var response = await sameStream.StreamAsync(cancellationToken: Timeout());
                capture.Add("response ToString", response);
                capture.Add("checkpoint", response.Checkpoint);
                await response.ReadAllBytesAsync(Timeout());
            }
            catch (Exception e)
            {
                capture.AddException("read existing", e);
            }
        }
        var leaks = capture.Leaks();
        Assert.True(leaks.Count == 0, "Secrets leaked:\n" + string.Join("\n", leaks));
        Assert.Contains(capture.Texts, t => t.Text.Contains("sig=<redacted>", StringComparison.Ordinal));
    }

    [Fact]
    public async Task No_secret_in_texts_on_a_network_error()
    {
        using var capture = new Capture();
        var baseUrl = WithUserInfo($"http://127.0.0.1:{ReliabilityTests.UnusedPort()}/streams");
        await using var client = new DurableStreamClient(new DurableStreamClientOptions
        {
            BaseUrl = baseUrl,
            MaxRetries = 2,
            InitialRetryDelay = TimeSpan.FromMilliseconds(10),
            MaxRetryDelay = TimeSpan.FromMilliseconds(50),
            LoggerFactory = capture.Factory,
            DynamicQueryParameters = new(StringComparer.Ordinal) { ["token"] = _ => ValueTask.FromResult(DynamicSecret) },
        });
        capture.Add("client ToString", client);
        var stream = client.GetStream("/down?sig=" + QuerySecret);
        capture.Add("stream ToString", stream);
        capture.AddException("head", await Assert.ThrowsAnyAsync<DurableStreamException>(() => stream.HeadAsync(Timeout())));
        capture.AddException("create", await Assert.ThrowsAnyAsync<DurableStreamException>(() => stream.CreateAsync(cancellationToken: Timeout())));
        capture.AddException("read", await Assert.ThrowsAnyAsync<DurableStreamException>(() => stream.StreamAsync(cancellationToken: Timeout())));
        capture.AddException("invalid base url", Assert.Throws<ArgumentException>(() => new DurableStreamClient(new() { BaseUrl = $"ftp://user:{PasswordSecret}@h/x?sig={QuerySecret}" })));

        var errors = new ConcurrentQueue<ProducerErrorEventArgs>();
        var producer = stream.CreateProducer("redaction-down", new IdempotentProducerOptions
        {
            ContentType = "text/plain",
            DeliveryTimeout = TimeSpan.FromSeconds(1),
            ShutdownTimeout = TimeSpan.FromMilliseconds(200),
        });
        producer.OnError += (_, e) => errors.Enqueue(e);
        capture.Add("producer ToString", producer);
        producer.Append("a");
        try
        {
            await producer.FlushAsync(Timeout());
        }
        catch (Exception e)
        {
            capture.AddException("producer flush", e);
        }
        // Refused after the failure: the append throws the failure (already reported to OnError).
        var refused = Assert.ThrowsAny<DurableStreamException>(() => producer.Append("b"));
        capture.AddException("refused append", refused);
        await producer.DisposeAsync();
        await Task.Delay(300);
        Assert.NotEmpty(errors);
        foreach (var e in errors)
        {
            capture.AddException("OnError", e.Exception);
        }

        var leaks = capture.Leaks();
        Assert.True(leaks.Count == 0, "Secrets leaked:\n" + string.Join("\n", leaks));
    }
}
