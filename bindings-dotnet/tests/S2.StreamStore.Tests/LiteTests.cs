using System.Text.Json.Serialization;

namespace S2.StreamStore.Tests;

public sealed record GameState(int Tick, string Player);

[JsonSerializable(typeof(GameState))]
internal sealed partial class TestJsonContext : JsonSerializerContext
{
}

/// <summary>Every operation against a real s2 lite.</summary>
public class LiteTests
{
    [LiteFact]
    public async Task Basin_and_stream_CRUD_round_trips_configurations()
    {
        await using var client = Lite.NewClient();
        var name = Lite.BasinName("crud");
        var created = await client.CreateBasinAsync(name, new BasinConfig { CreateStreamOnAppend = false }, Lite.Timeout());
        Assert.Equal(name, created.Name);
        await Assert.ThrowsAsync<ResourceAlreadyExistsException>(() => client.CreateBasinAsync(name, cancellationToken: Lite.Timeout()));
        var page = await client.ListBasinsAsync(new ListOptions { Prefix = name }, Lite.Timeout());
        Assert.Contains(page.Items, b => b.Name == name);
        var ensured = await client.EnsureBasinAsync(name, cancellationToken: Lite.Timeout());
        Assert.False(ensured.Created);

        var basin = client.Basin(name);
        var config = new StreamConfig { StorageClass = StorageClass.Express, RetentionPolicy = RetentionPolicy.ForAge(TimeSpan.FromHours(2)), Timestamping = new Timestamping { Mode = TimestampingMode.ClientRequire } };
        var stream = await basin.CreateStreamAsync("orders", config, Lite.Timeout());
        Assert.Equal("orders", stream.Name);
        var read = await basin.GetStreamConfigAsync("orders", Lite.Timeout());
        Assert.Equal(TimeSpan.FromHours(2), read.RetentionPolicy!.Age);
        Assert.Equal(TimestampingMode.ClientRequire, read.Timestamping!.Mode);
        var changed = await basin.ReconfigureStreamAsync("orders", new StreamConfig { RetentionPolicy = RetentionPolicy.Infinite }, Lite.Timeout());
        Assert.Null(changed.RetentionPolicy!.Age);
        Assert.Equal(TimestampingMode.ClientRequire, changed.Timestamping!.Mode);
        var ensuredStream = await basin.EnsureStreamAsync("second", cancellationToken: Lite.Timeout());
        Assert.True(ensuredStream.Created);
        var streams = await basin.ListStreamsAsync(cancellationToken: Lite.Timeout());
        Assert.Equal(new[] { "orders", "second" }, streams.Items.Where(s => s.DeletedAt is null).Select(s => s.Name).Order().ToArray());

        await basin.DeleteStreamAsync("second", cancellationToken: Lite.Timeout());
        var missing = await Assert.ThrowsAsync<StreamNotFoundException>(() => basin.GetStreamConfigAsync("never-created", Lite.Timeout()));
        Assert.Equal(404, missing.StatusCode);
        Assert.Equal(name, missing.Basin);
        await basin.DeleteStreamAsync("never-created", ignoreNotFound: true, cancellationToken: Lite.Timeout());

        var basinConfig = await client.ReconfigureBasinAsync(name, new BasinConfig { CreateStreamOnAppend = true }, Lite.Timeout());
        Assert.True(basinConfig.CreateStreamOnAppend);
        Assert.True((await client.GetBasinConfigAsync(name, Lite.Timeout())).CreateStreamOnAppend);
        await client.DeleteBasinAsync(name, cancellationToken: Lite.Timeout());
        await Assert.ThrowsAsync<BasinNotFoundException>(() => client.GetBasinConfigAsync(Lite.BasinName("never"), Lite.Timeout()));
    }

    [LiteFact]
    public async Task Appends_with_headers_read_back_from_every_start_kind()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("reads");
        await using (client)
        using (stream)
        {
            var first = await stream.AppendAsync(
                new[]
                {
                    new AppendRecord("zero", new[] { new RecordHeader("lang", "en") }),
                    new AppendRecord(new byte[] { 0, 1, 255 }, new[] { new RecordHeader("lang", "pt"), new RecordHeader("k", "v") }),
                },
                cancellationToken: Lite.Timeout());
            Assert.Equal(0UL, first.Start.SequenceNumber);
            Assert.Equal(2UL, first.End.SequenceNumber);
            Assert.Equal(2UL, first.Count);
            var second = await stream.AppendAsync(new AppendRecord("two"), cancellationToken: Lite.Timeout());
            Assert.Equal(2UL, second.Start.SequenceNumber);
            Assert.Equal(3UL, (await stream.CheckTailAsync(Lite.Timeout())).SequenceNumber);

            var all = await stream.ReadAsync(new ReadOptions { Start = ReadStart.FromSequence(0) }, Lite.Timeout());
            Assert.Equal(new ulong[] { 0, 1, 2 }, all.Records.Select(r => r.SequenceNumber));
            Assert.Equal("zero", all.Records[0].BodyText);
            Assert.Equal(new[] { "en" }, all.Records[0].HeaderValues("lang"));
            Assert.Equal(new byte[] { 0, 1, 255 }, all.Records[1].Body.ToArray());
            Assert.Equal(new[] { new RecordHeader("lang", "pt"), new RecordHeader("k", "v") }, all.Records[1].Headers);

            var fromSeq = await stream.ReadAsync(new ReadOptions { Start = ReadStart.FromSequence(1), Count = 1 }, Lite.Timeout());
            Assert.Equal(1UL, Assert.Single(fromSeq.Records).SequenceNumber);

            var fromTail = await stream.ReadAsync(new ReadOptions { Start = ReadStart.FromTail(1) }, Lite.Timeout());
            Assert.Equal("two", Assert.Single(fromTail.Records).BodyText);

            var fromTime = await stream.ReadAsync(new ReadOptions { Start = ReadStart.FromTimestamp(all.Records[2].Timestamp) }, Lite.Timeout());
            Assert.Equal(all.Records[2].Timestamp, fromTime.Records[0].Timestamp);
            Assert.All(fromTime.Records, r => Assert.True(r.Timestamp >= all.Records[2].Timestamp));

            var past = await Assert.ThrowsAsync<ReadUnwrittenException>(() => stream.ReadAsync(new ReadOptions { Start = ReadStart.FromSequence(10) }, Lite.Timeout()));
            Assert.Equal(3UL, past.Tail?.SequenceNumber);
            var clamped = await stream.ReadAsync(new ReadOptions { Start = ReadStart.FromSequence(10), Clamp = true, Wait = TimeSpan.FromSeconds(1) }, Lite.Timeout());
            Assert.Empty(clamped.Records);
        }
    }

    [LiteFact]
    public async Task A_match_seq_num_conflict_is_SeqNumMismatchException_with_the_servers_expected_value()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("match");
        await using (client)
        using (stream)
        {
            await stream.AppendAsync(new AppendRecord("a"), new AppendOptions { MatchSeqNum = 0 }, Lite.Timeout());
            await stream.AppendAsync(new AppendRecord("b"), new AppendOptions { MatchSeqNum = 1 }, Lite.Timeout());
            var e = await Assert.ThrowsAsync<SeqNumMismatchException>(() => stream.AppendAsync(new AppendRecord("c"), new AppendOptions { MatchSeqNum = 0 }, Lite.Timeout()));
            Assert.Equal(2UL, e.ExpectedSeqNum);
            Assert.Equal(S2ErrorKind.SeqNumMismatch, e.Kind);
            Assert.Equal("s", e.Stream);
            Assert.Equal(2UL, (await stream.CheckTailAsync(Lite.Timeout())).SequenceNumber);
        }
    }

    [LiteFact]
    public async Task Fence_and_fencing_conflicts_carry_the_current_token()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("fence");
        await using (client)
        using (stream)
        {
            await stream.FenceAsync("writer-1", cancellationToken: Lite.Timeout());
            var e = await Assert.ThrowsAsync<FencingTokenMismatchException>(() => stream.AppendAsync(new AppendRecord("x"), new AppendOptions { FencingToken = "writer-0" }, Lite.Timeout()));
            Assert.Equal("writer-1", e.ExpectedFencingToken);
            await stream.AppendAsync(new AppendRecord("ok"), new AppendOptions { FencingToken = "writer-1" }, Lite.Timeout());
            await stream.FenceAsync("writer-2", new AppendOptions { FencingToken = "writer-1" }, Lite.Timeout());
            var batch = await stream.ReadAsync(cancellationToken: Lite.Timeout());
            Assert.Equal(CommandKind.Fence, batch.Records[0].Command);
            Assert.Equal("writer-1", batch.Records[0].FencingToken);
            Assert.Equal(CommandKind.None, batch.Records[1].Command);
            Assert.Equal("writer-2", batch.Records[2].FencingToken);
        }
    }

    [LiteFact]
    public async Task Trim_appends_a_trim_command_record()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("trim");
        await using (client)
        using (stream)
        {
            await stream.AppendAsync(Enumerable.Range(0, 5).Select(i => new AppendRecord($"r{i}")).ToArray(), cancellationToken: Lite.Timeout());
            var ack = await stream.TrimAsync(3, cancellationToken: Lite.Timeout());
            Assert.Equal(5UL, ack.Start.SequenceNumber);
            var batch = await stream.ReadAsync(new ReadOptions { Start = ReadStart.FromSequence(5) }, Lite.Timeout());
            var trim = Assert.Single(batch.Records);
            Assert.True(trim.IsCommand);
            Assert.Equal(CommandKind.Trim, trim.Command);
            Assert.Equal(3UL, trim.TrimPoint);
            var data = await stream.ReadAsync(new ReadOptions { Start = ReadStart.FromSequence(0), Clamp = true, IgnoreCommandRecords = true }, Lite.Timeout());
            Assert.DoesNotContain(data.Records, r => r.IsCommand);
        }
    }

    [LiteFact]
    public async Task An_append_session_pipelines_batches_and_acknowledges_them_in_order()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("session");
        await using (client)
        using (stream)
        {
            var receipts = new List<AppendReceipt>();
            await using (var session = await stream.OpenAppendSessionAsync(new AppendSessionOptions { MaxUnackedBytes = 1024 * 1024 }, Lite.Timeout()))
            {
                for (var i = 0; i < 50; i++)
                {
                    receipts.Add(await session.AppendAsync(new[] { new AppendRecord($"a{i}"), new AppendRecord($"b{i}") }, new AppendOptions { MatchSeqNum = (ulong)(i * 2) }, cancellationToken: Lite.Timeout()));
                }
                var last = await session.AppendAsync(new AppendRecord("last"), waitForAck: true, Lite.Timeout());
                Assert.Equal(100UL, last.SequenceNumber);
                await session.FlushAsync(Lite.Timeout());
                Assert.All(receipts, r => Assert.True(r.IsAcknowledged));
                Assert.Equal(Enumerable.Range(0, 50).Select(i => (ulong?)(ulong)(i * 2)), receipts.Select(r => r.SequenceNumber));

                var stale = await session.AppendAsync(new[] { new AppendRecord("stale") }, new AppendOptions { MatchSeqNum = 0 }, cancellationToken: Lite.Timeout());
                var e = await Assert.ThrowsAsync<SeqNumMismatchException>(() => stale.Acknowledgement);
                Assert.Equal(101UL, e.ExpectedSeqNum);
            }
            Assert.Equal(101UL, (await stream.CheckTailAsync(Lite.Timeout())).SequenceNumber);
        }
    }

    [LiteFact]
    public async Task A_producer_acknowledges_each_record_in_order_exactly_once()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("producer");
        await using (client)
        using (stream)
        {
            var receipts = new List<AppendReceipt>();
            await using (var producer = await stream.OpenProducerAsync(new ProducerOptions { Linger = TimeSpan.FromMilliseconds(2), MatchSeqNum = 0, MaxBatchRecords = 100 }, Lite.Timeout()))
            {
                for (var i = 0; i < 1000; i++)
                {
                    receipts.Add(await producer.AppendAsync(new AppendRecord($"m{i}"), cancellationToken: Lite.Timeout()));
                }
                for (var i = 0; i < 1000; i++)
                {
                    Assert.True(producer.TrySubmit("fast"u8) || await Retry(producer));
                }
                await producer.FlushAsync(Lite.Timeout());
            }
            Assert.Equal(Enumerable.Range(0, 1000).Select(i => (ulong?)(ulong)i), receipts.Select(r => r.SequenceNumber));
            var all = new List<Record>();
            while (all.Count < 2000)
            {
                var batch = await stream.ReadAsync(new ReadOptions { Start = ReadStart.FromSequence((ulong)all.Count) }, Lite.Timeout());
                Assert.NotEmpty(batch.Records);
                all.AddRange(batch.Records);
            }
            Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"m{i}"), all.Take(1000).Select(r => r.BodyText));
            Assert.All(all.Skip(1000), r => Assert.Equal("fast", r.BodyText));
            Assert.Equal(2000UL, (await stream.CheckTailAsync(Lite.Timeout())).SequenceNumber);
        }

        static async Task<bool> Retry(Producer producer)
        {
            await producer.SubmitAsync("fast"u8.ToArray(), Lite.Timeout());
            return true;
        }
    }

    [LiteFact]
    public async Task A_producer_with_a_wrong_fencing_token_fails_with_the_current_token()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("pfence");
        await using (client)
        using (stream)
        {
            await stream.FenceAsync("owner", cancellationToken: Lite.Timeout());
            await using var producer = await stream.OpenProducerAsync(new ProducerOptions { FencingToken = "intruder" }, Lite.Timeout());
            var receipt = await producer.AppendAsync(new AppendRecord("x"), cancellationToken: Lite.Timeout());
            var e = await Assert.ThrowsAsync<FencingTokenMismatchException>(() => receipt.Acknowledgement);
            Assert.Equal("owner", e.ExpectedFencingToken);
            await Assert.ThrowsAsync<FencingTokenMismatchException>(() => producer.FlushAsync(Lite.Timeout()));
        }
    }

    [LiteFact]
    public async Task Typed_streams_round_trip_values()
    {
        var (client, basin, plain) = await Lite.NewStreamAsync("typed");
        await using (client)
        using (plain)
        using (var stream = basin.Stream("s", TestJsonContext.Default.GameState))
        {
            await stream.AppendAsync(new[] { new GameState(1, "ana"), new GameState(2, "bo") }, cancellationToken: Lite.Timeout());
            var values = await stream.ReadValuesAsync(cancellationToken: Lite.Timeout());
            Assert.Equal(new[] { new GameState(1, "ana"), new GameState(2, "bo") }, values.Select(v => v.Value));
            var raw = await plain.ReadAsync(cancellationToken: Lite.Timeout());
            Assert.Equal(new GameState(2, "bo"), raw.Records[1].Deserialize(TestJsonContext.Default.GameState));
            var session = new List<GameState>();
            await foreach (var record in stream.ReadAllAsync(new ReadSessionOptions { Count = 2 }, Lite.Timeout()))
            {
                session.Add(record.Value);
            }
            Assert.Equal(2, session.Count);
        }
    }

    [LiteFact]
    public async Task Access_tokens_fail_as_not_supported_on_lite()
    {
        await using var client = Lite.NewClient();
        var request = new AccessTokenRequest
        {
            Id = "frontend",
            Basins = new ScopeFilter { Exact = "my-basin-1" },
            Streams = new ScopeFilter { Prefix = "player-" },
            Operations = { S2Operation.Read },
            ExpiresAt = DateTimeOffset.UtcNow.AddHours(24),
        };
        var issue = await Assert.ThrowsAsync<S2NotSupportedException>(() => client.CreateAccessTokenAsync(request, Lite.Timeout()));
        Assert.Equal(S2ErrorKind.NotSupported, issue.Kind);
        Assert.StartsWith("Not supported by this server", issue.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<S2NotSupportedException>(() => client.ListAccessTokensAsync(cancellationToken: Lite.Timeout()));
        await Assert.ThrowsAsync<S2NotSupportedException>(() => client.RevokeAccessTokenAsync("frontend", Lite.Timeout()));
    }

    [LiteFact]
    public async Task Metrics_and_locations_fail_as_not_supported_on_lite()
    {
        var (client, basin, stream) = await Lite.NewStreamAsync("metrics");
        await using (client)
        using (stream)
        {
            var now = DateTimeOffset.UtcNow;
            var storage = new MetricsRequest(MetricSets.Storage, now.AddHours(-1), now);
            var calls = new Func<Task>[]
            {
                () => client.GetAccountMetricsAsync(new MetricsRequest(MetricSets.AccountOps, now.AddHours(-1), now, MetricsInterval.Minute), Lite.Timeout()),
                () => basin.GetMetricsAsync(storage, Lite.Timeout()),
                () => basin.GetStreamMetricsAsync(stream.Name, storage, Lite.Timeout()),
                () => client.ListLocationsAsync(Lite.Timeout()),
                () => client.GetDefaultLocationAsync(Lite.Timeout()),
                () => client.SetDefaultLocationAsync("aws:us-east-1", Lite.Timeout()),
            };
            foreach (var call in calls)
            {
                var error = await Assert.ThrowsAsync<S2NotSupportedException>(call);
                Assert.Equal(S2ErrorKind.NotSupported, error.Kind);
                Assert.Equal(501, error.StatusCode);
            }
        }
    }

    [LiteFact]
    public async Task A_read_session_follows_the_tail_and_ends_when_its_token_is_cancelled()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("follow");
        await using (client)
        using (stream)
        {
            await stream.AppendAsync(new AppendRecord("before"), cancellationToken: Lite.Timeout());
            await using var session = await stream.OpenReadSessionAsync(new ReadSessionOptions { Start = ReadStart.FromSequence(0) }, Lite.Timeout());
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var seen = new List<string>();
            var reading = Task.Run(async () =>
            {
                await foreach (var record in session.WithCancellation(cts.Token))
                {
                    lock (seen)
                    {
                        seen.Add(record.BodyText);
                    }
                    if (record.BodyText == "after")
                    {
                        await cts.CancelAsync();
                    }
                }
            });
            await stream.AppendAsync(new AppendRecord("after"), cancellationToken: Lite.Timeout());
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
            Assert.Equal(new[] { "before", "after" }, seen);
            Assert.Equal(2UL, session.NextSequenceNumber);
            Assert.True(session.Tail is null || session.Tail.Value.SequenceNumber >= 1);
        }
    }

    [LiteFact]
    public async Task A_read_session_with_a_count_ends_and_reports_caught_up()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("count");
        await using (client)
        using (stream)
        {
            await stream.AppendAsync(Enumerable.Range(0, 10).Select(i => new AppendRecord($"{i}")).ToArray(), cancellationToken: Lite.Timeout());
            await using var session = await stream.OpenReadSessionAsync(new ReadSessionOptions { Start = ReadStart.FromTail(4), Count = 4 }, Lite.Timeout());
            var bodies = new List<string>();
            await foreach (var record in session.WithCancellation(Lite.Timeout()))
            {
                bodies.Add(record.BodyText);
            }
            Assert.Equal(new[] { "6", "7", "8", "9" }, bodies);
        }
    }
}

/// <summary>Typed reads leave the caller's options as they were.</summary>
public class TypedOptionsTests
{
    [LiteFact]
    public async Task A_typed_read_does_not_change_the_callers_options()
    {
        var (client, basin, plain) = await Lite.NewStreamAsync("topts");
        await using (client)
        using (plain)
        using (var stream = basin.Stream("s", TestJsonContext.Default.GameState))
        {
            await stream.AppendAsync(new GameState(1, "ana"), cancellationToken: Lite.Timeout());
            await stream.TrimAsync(0, cancellationToken: Lite.Timeout());
            var options = new ReadOptions { Start = ReadStart.FromSequence(0) };
            var values = await stream.ReadValuesAsync(options, Lite.Timeout());
            Assert.Equal(new GameState(1, "ana"), Assert.Single(values).Value);
            Assert.False(options.IgnoreCommandRecords);
            Assert.Equal(2, (await plain.ReadAsync(options, Lite.Timeout())).Records.Count);
        }
    }
}
