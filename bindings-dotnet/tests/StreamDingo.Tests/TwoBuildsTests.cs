extern alias v2;

using StreamDingo.InMemory;
using Incremented = v2::StreamDingo.Tests.Versioned.Incremented;
using Tally = v2::StreamDingo.Tests.Versioned.Tally;
using TallyJson = v2::StreamDingo.Tests.Versioned.TallyJson;

namespace StreamDingo.Tests.Versioned
{
    /// <summary>The first build of the handler (StreamDingo.Tests.HandlersV2 holds the second, under the same full name).</summary>
    public sealed class TallyHandler : IEventHandler<Tally, Incremented>
    {
        public Tally Handle(Tally? previousSnapshot, Incremented @event)
        {
            var tally = previousSnapshot ?? new Tally(0, 0);
            return new Tally(tally.Total + @event.By, tally.Count + 1);
        }
    }
}

namespace StreamDingo.Tests
{
    /// <summary>Two real builds of one handler, each compiled with the generator: the hashes it registered decide the replay.</summary>
    public sealed class TwoBuildsTests
    {
        private static EventSourcing Build(IEventHandler<Tally, Incremented> handler, InMemoryEventStore? events, ISnapshotStore snapshots)
        {
            var builder = new EventSourcingBuilder()
                .AddEvent("Incremented", TallyJson.Default.Incremented)
                .AddState("Tally", TallyJson.Default.Tally)
                .AddHandler(handler);
            return (events is null ? builder.UseSnapshotStore(() => snapshots).UseInMemoryEvents() : builder.UseInMemory(events, snapshots)).Build();
        }

        [Fact]
        public void Both_builds_register_the_same_handler_name_with_different_hashes()
        {
            Assert.True(HandlerHashes.TryGet(typeof(Versioned.TallyHandler), out var first));
            Assert.True(HandlerHashes.TryGet(typeof(v2::StreamDingo.Tests.Versioned.TallyHandler), out var second));
            Assert.Equal("StreamDingo.Tests.Versioned.TallyHandler", first.Name);
            Assert.Equal(first.Name, second.Name);
            Assert.NotEqual(first.Hash, second.Hash);
        }

        [Fact]
        public async Task A_new_build_of_a_handler_replays_from_the_beginning_and_the_old_build_finds_its_snapshot()
        {
            var snapshots = new InMemorySnapshotStore();
            var firstBuild = Build(new Versioned.TallyHandler(), null, snapshots);
            var events = (InMemoryEventStore)firstBuild.Store;
            await firstBuild.Aggregates.AppendAsync<Tally>("t", 0, [new Incremented(1), new Incremented(2)]);
            await firstBuild.Aggregates.CreateSnapshotAsync<Tally>("t");
            await firstBuild.Aggregates.AppendAsync<Tally>("t", 2, [new Incremented(3)]);
            var loaded = await firstBuild.Aggregates.LoadAsync<Tally>("t");
            Assert.Equal((ReplaySource.FromLatestSnapshot, new Tally(6, 3)), (loaded.Source, loaded.State));

            var secondBuild = Build(new v2::StreamDingo.Tests.Versioned.TallyHandler(), events, snapshots);
            loaded = await secondBuild.Aggregates.LoadAsync<Tally>("t");
            Assert.Equal((ReplaySource.FromBeginningAfterHandlerChange, new Tally(12, 3)), (loaded.Source, loaded.State));

            loaded = await Build(new Versioned.TallyHandler(), events, snapshots).Aggregates.LoadAsync<Tally>("t");
            Assert.Equal((ReplaySource.FromCompatibleSnapshot, 2L, new Tally(6, 3)), (loaded.Source, loaded.SnapshotVersion, loaded.State));
        }
    }
}
