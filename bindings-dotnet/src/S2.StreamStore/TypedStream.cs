using System.Buffers;
using Microsoft.Extensions.Logging;
using S2.StreamStore.Interop;
using S2.StreamStore.Serialization;

namespace S2.StreamStore;

/// <summary>A stream whose record bodies are values of <typeparamref name="T"/>, through an <see cref="IRecordSerializer{T}"/>.</summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class S2Stream<T> : S2Stream
{
    internal S2Stream(NativeStream native, ILogger logger, string basin, string name, IRecordSerializer<T> serializer)
        : base(native, logger, basin, name) => Serializer = serializer;

    /// <summary>The serializer of bodies.</summary>
    public IRecordSerializer<T> Serializer { get; }

    /// <summary>Appends values as one batch.</summary>
    /// <param name="values">The values (1-1000).</param>
    /// <param name="options">Conditions.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<AppendAck> AppendAsync(IEnumerable<T> values, AppendOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        return AppendAsync(values.Select(v => ToRecord(v)).ToArray(), options, cancellationToken);
    }

    /// <summary>Appends one value.</summary>
    /// <param name="value">The value.</param>
    /// <param name="options">Conditions.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<AppendAck> AppendAsync(T value, AppendOptions? options = null, CancellationToken cancellationToken = default) =>
        AppendAsync(new[] { ToRecord(value) }, options, cancellationToken);

    /// <summary>The record of a value (its serialized body).</summary>
    /// <param name="value">The value.</param>
    /// <param name="headers">Headers; none by default.</param>
    public AppendRecord ToRecord(T value, IReadOnlyList<RecordHeader>? headers = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Serializer.Serialize(value, buffer);
        return new AppendRecord(buffer.WrittenMemory, headers);
    }

    /// <summary>Reads one batch of values (command records are left out).</summary>
    /// <param name="options">Where to start and the limits.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<IReadOnlyList<Record<T>>> ReadValuesAsync(ReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        var batch = await ReadAsync(WithoutCommands(options ?? new ReadOptions(), new ReadOptions()), cancellationToken).ConfigureAwait(false);
        return batch.Records.Select(Typed).ToArray();
    }

    /// <summary>Reads values with a read session (command records left out) until its limits, as an async sequence.</summary>
    /// <param name="options">Where to start and the limits (null: from 0, following the tail).</param>
    /// <param name="cancellationToken">Ends the sequence.</param>
    public async IAsyncEnumerable<Record<T>> ReadAllAsync(ReadSessionOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var given = options ?? new ReadSessionOptions();
        var copy = WithoutCommands(given, new ReadSessionOptions { RetryForever = given.RetryForever });
        var session = await OpenReadSessionAsync(copy, cancellationToken).ConfigureAwait(false);
        await using (((IAsyncDisposable)session).ConfigureAwait(false))
        {
            await foreach (var record in session.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                yield return Typed(record);
            }
        }
    }

    /// <summary>A copy of <paramref name="options"/> in <paramref name="copy"/> that leaves out command records (the caller's options stay as they are).</summary>
    private static TOptions WithoutCommands<TOptions>(ReadOptions options, TOptions copy)
        where TOptions : ReadOptions
    {
        copy.Start = options.Start;
        copy.Count = options.Count;
        copy.Bytes = options.Bytes;
        copy.Until = options.Until;
        copy.Clamp = options.Clamp;
        copy.Wait = options.Wait;
        copy.IgnoreCommandRecords = true;
        return copy;
    }

    private Record<T> Typed(Record record) => new(record, Serializer.Deserialize(record.Body.Span));
}
