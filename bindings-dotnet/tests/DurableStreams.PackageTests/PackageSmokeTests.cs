using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.PackageTests;

/// <summary>Smoke test of the packed DurableStreams package against both real servers.</summary>
[Collection(ClientCollection.Name)]
public class PackageSmokeTests : ServerTest
{
    public PackageSmokeTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Fact]
    public void The_native_library_comes_from_the_package_runtimes_folder()
    {
        var assembly = typeof(DurableStreamClient).Assembly;
        Assert.Equal(new Version(0, 1, 0, 0), assembly.GetName().Version);
        // NuGet lays native assets out under runtimes/<rid>/native and the deps.json points there;
        // nothing is copied next to the app by hand.
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libdurable_streams.so")));
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "libdurable_streams.so")));
        Assert.False(string.IsNullOrEmpty(DurableStreamClient.CoreVersion));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Create_append_read_and_produce(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await client.CreateStreamAsync(NewPath("package"), new CreateStreamOptions { ContentType = "application/json" });
        await stream.AppendJsonAsync(new MyEvent("appended", 1));

        await using (var producer = stream.CreateProducer("package-producer"))
        {
            for (var i = 2; i <= 10; i++)
            {
                producer.Append(new MyEvent("produced", i));
            }
            await producer.FlushAsync();
        }

        await using (var response = await stream.StreamAsync(new StreamOptions { Offset = Offset.Beginning, Live = LiveMode.Off }))
        {
            var events = await response.ReadAllJsonAsync<MyEvent>();
            Assert.Equal(Enumerable.Range(1, 10), events.Select(e => e!.N));
            Assert.True(response.UpToDate);
        }

        await using (var live = await stream.StreamAsync(new StreamOptions { Live = LiveMode.Sse }))
        {
            var reader = Task.Run(async () =>
            {
                var count = 0;
                await foreach (var _ in live.ReadJsonAsync<MyEvent>())
                {
                    count++;
                }
                return count;
            });
            await stream.AppendJsonAsync(new MyEvent("live", 11));
            await stream.CloseAsync();
            Assert.Equal(11, await reader.WaitAsync(TimeSpan.FromSeconds(20)));
        }

        var missing = await Assert.ThrowsAsync<StreamNotFoundException>(() => client.ConnectAsync(NewPath("missing")));
        Assert.Equal(404, missing.StatusCode);
    }
}
