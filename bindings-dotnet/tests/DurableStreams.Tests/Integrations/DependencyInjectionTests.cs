using DurableStreams.Extensions.DependencyInjection;
using DurableStreams.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DurableStreams.Tests.Integrations;

[Collection(IntegrationCollection.Name)]
public class DependencyInjectionTests : ServerTest
{
    public DependencyInjectionTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    private static IConfiguration Memory(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    [Fact]
    public void AddDurableStreams_BindsTheDurableStreamsSection()
    {
        var services = new ServiceCollection();
        services.AddSingleton(Memory(new()
        {
            ["DurableStreams:BaseUrl"] = "http://127.0.0.1:1/v1/stream",
            ["DurableStreams:DefaultHeaders:Authorization"] = "Bearer abc",
            ["DurableStreams:DefaultHeaders:X-Tenant"] = "t1",
            ["DurableStreams:MaxRetries"] = "7",
            ["DurableStreams:InitialRetryDelay"] = "00:00:00.250",
            ["DurableStreams:MaxRetryDelay"] = "00:00:05",
            ["DurableStreams:RetryMultiplier"] = "1.5",
            ["DurableStreams:RequestTimeout"] = "00:00:12",
            ["DurableStreams:ConnectTimeout"] = "00:00:03",
            ["DurableStreams:LiveTimeout"] = "00:01:30",
        }));
        services.AddDurableStreams(o => o.MaxRetries = 3); // code runs after configuration
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<DurableStreamClientOptions>>().Get(Options.DefaultName);
        Assert.Equal("http://127.0.0.1:1/v1/stream", options.BaseUrl);
        Assert.Equal("Bearer abc", options.DefaultHeaders!["authorization"]);
        Assert.Equal("t1", options.DefaultHeaders["X-Tenant"]);
        Assert.Equal(3, options.MaxRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.InitialRetryDelay);
        Assert.Equal(TimeSpan.FromSeconds(5), options.MaxRetryDelay);
        Assert.Equal(1.5, options.RetryMultiplier);
        Assert.Equal(TimeSpan.FromSeconds(12), options.RequestTimeout);
        Assert.Equal(TimeSpan.FromSeconds(3), options.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(90), options.LiveTimeout);
        Assert.Null(options.LoggerFactory); // no logging registered

        var client = provider.GetRequiredService<DurableStreamClient>();
        Assert.Same(client, provider.GetRequiredService<DurableStreamClient>());
        Assert.Same(client, provider.GetRequiredService<IDurableStreamClientFactory>().GetClient(""));
        Assert.Equal("http://127.0.0.1:1/v1/stream/a/b", client.GetStream("/a/b").Url);
    }

    [Fact]
    public void AddDurableStreams_BindsFromAJsonFile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"ds-config-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """
            {
              "DurableStreams": {
                "BaseUrl": "http://127.0.0.1:2/v1/stream",
                "RequestTimeout": "00:00:09",
                "Clients": {
                  "archive": { "BaseUrl": "http://127.0.0.1:3/archive", "MaxRetries": "1" }
                }
              }
            }
            """);
        try
        {
            var services = new ServiceCollection();
            services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddJsonFile(file).Build());
            services.AddDurableStreams();
            services.AddDurableStreams("archive");
            using var provider = services.BuildServiceProvider();
            var monitor = provider.GetRequiredService<IOptionsMonitor<DurableStreamClientOptions>>();
            Assert.Equal(TimeSpan.FromSeconds(9), monitor.Get("").RequestTimeout);
            Assert.Equal("http://127.0.0.1:3/archive", monitor.Get("archive").BaseUrl);
            Assert.Equal(1, monitor.Get("archive").MaxRetries);
            Assert.Equal(5, monitor.Get("").MaxRetries);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void BadConfigurationValue_NamesTheKeyNotTheValue()
    {
        var section = Memory(new() { ["DurableStreams:RequestTimeout"] = "soon-secret" }).GetSection("DurableStreams");
        var e = Assert.Throws<InvalidOperationException>(() => DurableStreamsConfiguration.Bind(section, new DurableStreamClientOptions()));
        Assert.Contains("DurableStreams:RequestTimeout", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("soon-secret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NamedClients_AreDistinctSingletons_DisposedWithTheContainer_AndGetTheLoggerFactory()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddDurableStreams("a", o => o.BaseUrl = "http://127.0.0.1:4/a");
        services.AddDurableStreams("b", o => o.BaseUrl = "http://127.0.0.1:5/b");
        DurableStreamClient a, b;
        await using (var provider = services.BuildServiceProvider())
        {
            var factory = provider.GetRequiredService<IDurableStreamClientFactory>();
            a = factory.GetClient("a");
            b = factory.GetClient("b");
            Assert.NotSame(a, b);
            Assert.Same(a, factory.GetClient("a"));
            Assert.Equal("http://127.0.0.1:4/a/s", a.GetStream("/s").Url);
            Assert.Equal("http://127.0.0.1:5/b/s", b.GetStream("/s").Url);
            Assert.NotNull(provider.GetRequiredService<IOptionsMonitor<DurableStreamClientOptions>>().Get("a").LoggerFactory);
            Assert.Throws<InvalidOperationException>(() => factory.GetClient("c"));
            Assert.Null(provider.GetService<DurableStreamClient>()); // no default client registered
        }
        Assert.Throws<ObjectDisposedException>(() => a.GetStream("/s"));
        Assert.Throws<ObjectDisposedException>(() => b.GetStream("/s"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ResolvedClient_WorksAgainstARealServer(string kind)
    {
        var services = new ServiceCollection();
        services.AddSingleton(Memory(new() { ["DurableStreams:BaseUrl"] = Server(kind).StreamPrefixUrl }));
        services.AddDurableStreams();
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<DurableStreamClient>();
        var stream = client.GetStream(NewPath("di"), IntegrationJsonContext.Default.MyEvent);
        await stream.CreateAsync(cancellationToken: Timeout());
        await stream.AppendAsync(new MyEvent("di", 1), Timeout());
        Assert.Equal([new MyEvent("di", 1)], await stream.ReadAllAsync(cancellationToken: Timeout()));
    }

    private static async Task<HealthReport> CheckAsync(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        configure(services);
        await using var provider = services.BuildServiceProvider();
        return await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(Timeout());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task HealthCheck_Up_ExistingStreamAndNotFound(string kind)
    {
        await using var client = NewClient(kind);
        var existing = await NewStreamAsync(client, "text/plain", "health");
        var report = await CheckAsync(s =>
        {
            s.AddDurableStreams(o => o.BaseUrl = Server(kind).StreamPrefixUrl);
            s.AddHealthChecks()
                .AddDurableStreams(existing.Url, name: "existing")
                .AddDurableStreams(NewPath("absent"), name: "absent");
        });
        Assert.Equal(HealthStatus.Healthy, report.Status);
        Assert.Equal(HealthStatus.Healthy, report.Entries["existing"].Status);
        Assert.True(report.Entries["existing"].Data.ContainsKey("offset"));
        Assert.Equal(HealthStatus.Healthy, report.Entries["absent"].Status);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task HealthCheck_NotFoundCanBeUnhealthy(string kind)
    {
        var report = await CheckAsync(s =>
        {
            s.AddDurableStreams("named", o => o.BaseUrl = Server(kind).StreamPrefixUrl);
            s.AddHealthChecks().AddDurableStreams(NewPath("absent"), notFoundIsHealthy: false, clientName: "named", failureStatus: HealthStatus.Degraded);
        });
        Assert.Equal(HealthStatus.Degraded, report.Entries["durable-streams"].Status);
        Assert.Equal(404, report.Entries["durable-streams"].Data["status"]);
    }

    [Fact]
    public async Task HealthCheck_Down_ClosedPort()
    {
        var port = TelemetryTests.ClosedPort();
        var report = await CheckAsync(s =>
        {
            s.AddDurableStreams(o =>
            {
                o.BaseUrl = $"http://127.0.0.1:{port}/v1/stream";
                o.MaxRetries = 0;
                o.ConnectTimeout = TimeSpan.FromSeconds(2);
            });
            s.AddHealthChecks().AddDurableStreams(timeout: TimeSpan.FromSeconds(10));
        });
        var entry = report.Entries["durable-streams"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.IsAssignableFrom<DurableStreamException>(entry.Exception);
    }
}
