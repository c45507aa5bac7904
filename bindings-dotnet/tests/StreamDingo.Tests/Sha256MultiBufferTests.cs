using System.Security.Cryptography;
using System.Text;

namespace StreamDingo.Tests;

/// <summary>The eight-lane SHA-256 used to verify replays gives exactly the library's SHA-256.</summary>
public sealed class Sha256MultiBufferTests
{
    [Fact]
    public void Every_length_up_to_the_longest_message_hashes_as_the_library_does()
    {
        var random = new Random(17);
        var maxLength = (Sha256MultiBuffer.MaxBlocks * 64) - 9;
        var data = new byte[maxLength * Sha256MultiBuffer.Lanes];
        random.NextBytes(data);
        var hashes = new byte[32 * Sha256MultiBuffer.Lanes];
        for (var length = 0; length <= maxLength; length++)
        {
            // Eight lanes of different lengths around this one (different block counts in one call), and partial groups.
            var count = (length % Sha256MultiBuffer.Lanes) + 1;
            var starts = new int[count];
            var lengths = new int[count];
            for (var lane = 0; lane < count; lane++)
            {
                lengths[lane] = Math.Clamp(length - (lane * 37), 0, maxLength);
                starts[lane] = lane * maxLength;
            }
            Sha256MultiBuffer.Hash(data, starts, lengths, count, hashes);
            for (var lane = 0; lane < count; lane++)
            {
                var expected = SHA256.HashData(data.AsSpan(starts[lane], lengths[lane]));
                Assert.True(expected.AsSpan().SequenceEqual(hashes.AsSpan(lane * 32, 32)), $"length {lengths[lane]} in lane {lane} of {count}");
            }
        }
    }

    [Fact]
    public void Known_vectors_hash_to_their_published_values()
    {
        var abc = "abc"u8.ToArray();
        var twoBlocks = Encoding.ASCII.GetBytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
        var data = abc.Concat(twoBlocks).ToArray();
        var hashes = new byte[64];
        Sha256MultiBuffer.Hash(data, [0, abc.Length], [abc.Length, twoBlocks.Length], 2, hashes);
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Convert.ToHexStringLower(hashes.AsSpan(0, 32)));
        Assert.Equal("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", Convert.ToHexStringLower(hashes.AsSpan(32, 32)));
    }

    [Fact]
    public void VerifyEvents_accepts_a_chain_and_throws_the_first_failure_in_order()
    {
        var verifier = new IntegrityVerifier(Sha256HashProvider.Instance);
        var previous = EventHashChain.GenesisHash;
        var envelopes = new EventEnvelope[600];
        for (var i = 0; i < envelopes.Length; i++)
        {
            var envelope = new EventEnvelope("s", i + 1, "MoneyDeposited", DateTimeOffset.UnixEpoch.AddSeconds(i), Guid.NewGuid(), Encoding.UTF8.GetBytes($"{{\"Amount\":{i}}}"), previous, "");
            envelopes[i] = envelope with { Hash = EventHashChain.Compute(Sha256HashProvider.Instance, envelope) };
            previous = envelopes[i].Hash;
        }
        verifier.VerifyEvents(envelopes, 1, EventHashChain.GenesisHash);
        verifier.VerifyEvents(envelopes.AsSpan(300), 301, null);

        var forged = (EventEnvelope[])envelopes.Clone();
        forged[450] = forged[450] with { Data = "{\"Amount\":1}"u8.ToArray() };
        forged[299] = forged[299] with { Data = "{\"Amount\":2}"u8.ToArray() };
        var e = Assert.Throws<EventIntegrityException>(() => verifier.VerifyEvents(forged, 1, EventHashChain.GenesisHash));
        var one = Assert.Throws<EventIntegrityException>(() => verifier.VerifyEvent(forged[299], 300, forged[298].Hash));
        Assert.Equal((300L, one.Message), (e.Version, e.Message));

        var gap = envelopes.Where(x => x.Version != 257).ToArray(); // the run's second batch starts one version late
        Assert.Equal(257, Assert.Throws<EventIntegrityException>(() => verifier.VerifyEvents(gap, 1, EventHashChain.GenesisHash)).Version);
    }

    [Fact]
    public void Checking_envelopes_together_reports_what_checking_them_one_by_one_reports()
    {
        var verifier = new IntegrityVerifier(Sha256HashProvider.Instance);
        var previous = EventHashChain.GenesisHash;
        var envelopes = new List<EventEnvelope>();
        for (var version = 1; version <= 100; version++)
        {
            // Data from empty to well past the eight-lane limit, so some envelopes take the one-by-one path.
            var data = Encoding.UTF8.GetBytes($"{{\"Text\":\"{new string('x', version * version % 1500)}\"}}");
            var envelope = new EventEnvelope("s", version, "NoteAdded", DateTimeOffset.UnixEpoch.AddSeconds(version), Guid.NewGuid(), data, previous, "");
            envelope = envelope with { Hash = EventHashChain.Compute(Sha256HashProvider.Instance, envelope) };
            envelopes.Add(envelope);
            previous = envelope.Hash;
        }
        envelopes[10] = envelopes[10] with { Data = "{\"Text\":\"forged\"}"u8.ToArray() };
        envelopes[55] = envelopes[55] with { Hash = envelopes[55].Hash.ToUpperInvariant() }; // still the same hash
        envelopes[70] = envelopes[70] with { PreviousHash = "not hexadecimal" };
        envelopes[90] = envelopes[90] with { Version = 1000 };

        var together = new EventIntegrityException?[envelopes.Count];
        verifier.CheckContents(envelopes.ToArray(), together);
        for (var i = 0; i < envelopes.Count; i++)
        {
            Assert.Equal(verifier.CheckContent(envelopes[i])?.Message, together[i]?.Message);
        }
        Assert.Equal([10, 70, 90], Enumerable.Range(0, envelopes.Count).Where(i => together[i] is not null));
    }
}
