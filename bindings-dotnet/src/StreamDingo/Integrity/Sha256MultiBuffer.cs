using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace StreamDingo;

/// <summary>
/// SHA-256 (FIPS 180-4) of up to eight independent messages at once, one per 32-bit lane of a
/// 256-bit vector. Verifying a replay hashes many short, independent event inputs: per message the
/// one-shot library call costs several times the hashing itself, eight lanes share that work.
/// Checked against <see cref="System.Security.Cryptography.SHA256"/> by the tests.
/// </summary>
internal static class Sha256MultiBuffer
{
    public const int Lanes = 8;

    /// <summary>Messages longer than this (in 64-byte blocks, padding included) are left to the caller.</summary>
    public const int MaxBlocks = 16;

    private static readonly uint[] s_k =
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    private static readonly uint[] s_initial = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

    /// <summary>Whether vectors of eight 32-bit lanes are hardware-accelerated (otherwise use the library call).</summary>
    public static bool IsSupported => Vector256.IsHardwareAccelerated;

    /// <summary>The number of 64-byte blocks of a message of <paramref name="length"/> bytes once padded.</summary>
    public static int BlocksOf(int length) => (length + 9 + 63) / 64;

    /// <summary>
    /// Hashes <paramref name="count"/> (1 to 8) messages, message <c>i</c> being
    /// <paramref name="data"/>[<paramref name="starts"/>[i] .. + <paramref name="lengths"/>[i]], each of at most
    /// <see cref="MaxBlocks"/> blocks, into <paramref name="hashes"/>[32 i .. 32 i + 32].
    /// </summary>
    public static void Hash(ReadOnlySpan<byte> data, ReadOnlySpan<int> starts, ReadOnlySpan<int> lengths, int count, Span<byte> hashes)
    {
        if (count is < 1 or > Lanes)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }
        Span<int> blocks = stackalloc int[Lanes];
        var maxBlocks = 0;
        for (var lane = 0; lane < count; lane++)
        {
            blocks[lane] = BlocksOf(lengths[lane]);
            if (blocks[lane] > MaxBlocks)
            {
                throw new ArgumentOutOfRangeException(nameof(lengths), "A message is longer than MaxBlocks blocks.");
            }
            maxBlocks = Math.Max(maxBlocks, blocks[lane]);
        }

        // Each lane's padded message (0x80, zeros, the bit length big-endian), laid out lane after lane.
        var laneBytes = maxBlocks * 64;
        Span<byte> padded = stackalloc byte[Lanes * MaxBlocks * 64];
        padded = padded[..(Lanes * laneBytes)];
        padded.Clear();
        for (var lane = 0; lane < count; lane++)
        {
            var message = padded.Slice(lane * laneBytes, blocks[lane] * 64);
            data.Slice(starts[lane], lengths[lane]).CopyTo(message);
            message[lengths[lane]] = 0x80;
            BinaryPrimitives.WriteUInt64BigEndian(message[^8..], (ulong)lengths[lane] * 8);
        }

        Span<Vector256<uint>> state = stackalloc Vector256<uint>[8];
        for (var i = 0; i < 8; i++)
        {
            state[i] = Vector256.Create(s_initial[i]);
        }
        Span<Vector256<uint>> w = stackalloc Vector256<uint>[64];
        Span<uint> word = stackalloc uint[Lanes];
        for (var block = 0; block < maxBlocks; block++)
        {
            for (var t = 0; t < 16; t++)
            {
                for (var lane = 0; lane < Lanes; lane++)
                {
                    word[lane] = BinaryPrimitives.ReadUInt32BigEndian(padded.Slice((lane * laneBytes) + (block * 64) + (t * 4), 4));
                }
                w[t] = Vector256.Create<uint>(word);
            }
            // Lanes whose message has no block here keep their state.
            for (var lane = 0; lane < Lanes; lane++)
            {
                word[lane] = lane < count && block < blocks[lane] ? uint.MaxValue : 0;
            }
            Compress(state, w, Vector256.Create<uint>(word));
        }

        for (var lane = 0; lane < count; lane++)
        {
            var hash = hashes.Slice(lane * 32, 32);
            for (var i = 0; i < 8; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(hash[(i * 4)..], state[i].GetElement(lane));
            }
        }
    }

    private static void Compress(Span<Vector256<uint>> state, Span<Vector256<uint>> w, Vector256<uint> active)
    {
        for (var t = 16; t < 64; t++)
        {
            var w15 = w[t - 15];
            var w2 = w[t - 2];
            var s0 = Rotr(w15, 7) ^ Rotr(w15, 18) ^ Vector256.ShiftRightLogical(w15, 3);
            var s1 = Rotr(w2, 17) ^ Rotr(w2, 19) ^ Vector256.ShiftRightLogical(w2, 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        var a = state[0];
        var b = state[1];
        var c = state[2];
        var d = state[3];
        var e = state[4];
        var f = state[5];
        var g = state[6];
        var h = state[7];
        for (var t = 0; t < 64; t++)
        {
            var s1 = Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25);
            var ch = (e & f) ^ Vector256.AndNot(g, e);
            var temp1 = h + s1 + ch + Vector256.Create(s_k[t]) + w[t];
            var s0 = Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22);
            var maj = (a & b) ^ (a & c) ^ (b & c);
            var temp2 = s0 + maj;
            h = g;
            g = f;
            f = e;
            e = d + temp1;
            d = c;
            c = b;
            b = a;
            a = temp1 + temp2;
        }
        state[0] = Vector256.ConditionalSelect(active, state[0] + a, state[0]);
        state[1] = Vector256.ConditionalSelect(active, state[1] + b, state[1]);
        state[2] = Vector256.ConditionalSelect(active, state[2] + c, state[2]);
        state[3] = Vector256.ConditionalSelect(active, state[3] + d, state[3]);
        state[4] = Vector256.ConditionalSelect(active, state[4] + e, state[4]);
        state[5] = Vector256.ConditionalSelect(active, state[5] + f, state[5]);
        state[6] = Vector256.ConditionalSelect(active, state[6] + g, state[6]);
        state[7] = Vector256.ConditionalSelect(active, state[7] + h, state[7]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Rotr(Vector256<uint> x, int n) => Vector256.ShiftRightLogical(x, n) | Vector256.ShiftLeft(x, 32 - n);
}
