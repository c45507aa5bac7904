using System.Collections.Concurrent;
using DurableStreams.Extensions.DependencyInjection;
using DurableStreams.Subscriptions;
using DurableStreams.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DurableStreams.Tests;

/// <summary>Hosted pull workers registered with AddDurableStreamsSubscriptionWorker, against the Node server.</summary>
[Collection(WriteCollection.Name)]
public class SubscriptionWorkerServiceTests : ServerTest
{
    public SubscriptionWorkerServiceTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    /// <summary>What the handlers saw, shared by every scope.</summary>
    public sealed class Recorder
    {
        public ConcurrentQueue<(string Stream, string Text, Guid Scope)> Batches { get; } = new();
    }

    /// <summary>A scoped dependency: one per batch.</summary>
    public sealed class ScopeMarker
    {
        public Guid Id { get; } = Guid.NewGuid();
    }

    public sealed class RecordingHandler(Recorder recorder, ScopeMarker scope) : ISubscriptionBatchHandler
    {
        public ValueTask HandleAsync(SubscriptionBatch batch, CancellationToken cancellationToken)
        {
            recorder.Batches.Enqueue((batch.Stream, batch.Text, scope.Id));
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task A_registered_handler_gets_each_batch_from_its_own_scope_and_the_cursor_follows()
    {
        var path = $"dotnet-subs/hosted-{Guid.NewGuid():N}";
        var wake = $"dotnet-subs/hosted-wake-{Guid.NewGuid():N}";
        var id = $"hosted-{Guid.NewGuid():N}";
        await using (var setup = NewClient(TestServers.Node))
        {
            await setup.CreateStreamAsync(path, new CreateStreamOptions { ContentType = "application/json" });
            await setup.CreateStreamAsync(wake, new CreateStreamOptions { ContentType = "application/json" });
            var options = SubscriptionOptions.PullWake(wake);
            options.Streams.Add(path);
            await setup.Subscription(id).CreateAsync(options);
        }

        var services = new ServiceCollection();
        services.AddSingleton<Recorder>();
        services.AddScoped<ScopeMarker>();
        services.AddDurableStreams(o => o.BaseUrl = Server(TestServers.Node).StreamPrefixUrl);
        services.AddDurableStreamsSubscriptionWorker<RecordingHandler>(id, r => r.WorkerName = "hosted-1");
        await using var provider = services.BuildServiceProvider();
        var hosted = Assert.IsAssignableFrom<SubscriptionWorkerService>(Assert.Single(provider.GetServices<IHostedService>()));
        Assert.Equal(id, hosted.SubscriptionId);
        var recorder = provider.GetRequiredService<Recorder>();
        var client = provider.GetRequiredService<DurableStreamClient>();

        await hosted.StartAsync(Timeout());
        try
        {
            var stream = client.GetStream(path);
            await stream.AppendAsync("{\"n\":1}");
            await WaitFor(() => recorder.Batches.Count >= 1, "the first batch");
            await stream.AppendAsync("{\"n\":2}");
            await WaitFor(() => recorder.Batches.Count >= 2, "the second batch");
            var tail = (await stream.HeadAsync()).Offset;
            var subscription = client.Subscription(id);
            await WaitFor(async () => (await subscription.GetAsync()).Stream(path)!.AckedOffset == tail, "the cursor at the tail");
            Assert.True(hosted.Stats!.Batches >= 2);
        }
        finally
        {
            await hosted.StopAsync(Timeout());
        }

        var batches = recorder.Batches.ToArray();
        Assert.All(batches, b => Assert.Equal(path, b.Stream));
        Assert.Contains("\"n\":1", string.Concat(batches.Select(b => b.Text)), StringComparison.Ordinal);
        Assert.Equal(batches.Length, batches.Select(b => b.Scope).Distinct().Count());
        Assert.Equal(0, hosted.Restarts);
    }

    [Fact]
    public async Task A_missing_subscription_restarts_the_worker_instead_of_stopping_the_host()
    {
        var services = new ServiceCollection();
        services.AddSingleton<Recorder>();
        services.AddScoped<ScopeMarker>();
        services.AddDurableStreams(o => o.BaseUrl = Server(TestServers.Node).StreamPrefixUrl);
        services.AddDurableStreamsSubscriptionWorker<RecordingHandler>($"missing-{Guid.NewGuid():N}");
        await using var provider = services.BuildServiceProvider();
        var hosted = Assert.IsAssignableFrom<SubscriptionWorkerService>(Assert.Single(provider.GetServices<IHostedService>()));
        await hosted.StartAsync(Timeout());
        await WaitFor(() => hosted.Restarts >= 1, "a restart");
        await hosted.StopAsync(Timeout());
        Assert.NotNull(hosted.ExecuteTask);
        Assert.True(hosted.ExecuteTask!.IsCompletedSuccessfully);
    }

    private static Task WaitFor(Func<bool> condition, string what) => WaitFor(() => Task.FromResult(condition()), what);

    private static async Task WaitFor(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}");
            }
            await Task.Delay(25);
        }
    }
}
