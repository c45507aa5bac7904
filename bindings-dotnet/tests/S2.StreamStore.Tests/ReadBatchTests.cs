namespace S2.StreamStore.Tests;

/// <summary>How read records hold their bytes: managed memory they own, shared per batch in small buffers.</summary>
public class ReadBatchTests
{
    [LiteFact]
    public async Task Records_keep_their_bodies_and_headers_after_the_session_moved_on()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("readbuf");
        await using (client)
        using (stream)
        {
            // Small, empty, chunk-sized and larger-than-a-chunk bodies (64 KiB shared buffers), with and without headers.
            var sizes = new[] { 1, 0, 100, 65_536, 30_000, 40_000, 70_000, 5, 65_535, 200_000, 8192, 8192, 8192, 0 };
            var expected = new List<AppendRecord>();
            for (var i = 0; i < sizes.Length; i++)
            {
                var body = new byte[sizes[i]];
                new Random(i).NextBytes(body);
                var headers = i % 3 == 0 ? Array.Empty<RecordHeader>() : new[] { new RecordHeader($"h{i}", new string('v', i)), new RecordHeader("k", "") };
                expected.Add(new AppendRecord(body, headers));
            }
            for (var i = 0; i < expected.Count; i += 4)
            {
                await stream.AppendAsync(expected.Skip(i).Take(4).ToArray(), cancellationToken: Lite.Timeout());
            }

            var kept = new List<Record>();
            await using (var session = await stream.OpenReadSessionAsync(new ReadSessionOptions { Start = ReadStart.FromSequence(0), Count = (ulong)expected.Count }, Lite.Timeout()))
            {
                await foreach (var record in session.WithCancellation(Lite.Timeout()))
                {
                    kept.Add(record);
                }
            }
            var batch = await stream.ReadAsync(new ReadOptions { Start = ReadStart.FromSequence(0) }, Lite.Timeout());
            GC.Collect();

            Assert.Equal(expected.Count, kept.Count);
            Assert.Equal(expected.Count, batch.Records.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                foreach (var record in new[] { kept[i], batch.Records[i] })
                {
                    Assert.Equal((ulong)i, record.SequenceNumber);
                    Assert.True(expected[i].Body.Span.SequenceEqual(record.Body.Span), $"record {i}: body differs");
                    Assert.Equal(expected[i].Headers, record.Headers);
                }
            }
        }
    }
}
