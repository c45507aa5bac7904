using System.Diagnostics;
using DurableStreams.Interop;

namespace DurableStreams;

/// <summary>
/// A streaming read session (<see cref="DurableStream.StreamAsync"/>) with several ways to
/// consume it: accumulate (<c>ReadAll*Async</c>) or iterate (<c>Read*Async</c> returning
/// <see cref="IAsyncEnumerable{T}"/>).
/// </summary>
/// <remarks>
/// <para>
/// <b>Single consumer:</b> call only ONE <c>Read*Async</c> method per instance; a second one
/// throws <see cref="InvalidOperationException"/> (for the enumerables, when enumeration starts).
/// </para>
/// <para>
/// <b>Cancellation:</b> cancelling the token passed to <see cref="DurableStream.StreamAsync"/>
/// (it scopes the whole session, the enumeration that follows included), a Read method's token
/// (or <c>WithCancellation</c>), or calling <see cref="Cancel"/>, ends the session: the pending read stops promptly with
/// <see cref="OperationCanceledException"/> and the session cannot be read again (start a new
/// one from <see cref="Checkpoint"/>).
/// </para>
/// <para>Disposing the session stops any pending read (it then throws <see cref="ObjectDisposedException"/>).</para>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public partial class StreamResponse : IAsyncDisposable
{
    private readonly DurableStream? _stream;
    private readonly NativeReader? _reader;
    private ChunkData? _prefetched;

    // The chunk last handed to a consumer: its native bytes are freed when the next is fetched or
    // the session is disposed (consumers copy or decode what they keep before asking for more).
    private ChunkData? _current;
    /// <summary>The next piece of a response being delivered in pieces, fetched while the caller works on the current one.</summary>
    private Task<ChunkData?>? _readAhead;
    private bool _finished;
    private int _consumer;
    private string? _consumerName;
    private int _disposed;
    private volatile bool _cancelRequested;
    private volatile bool _tokenCancelled;
    private StreamCheckpoint _checkpoint;
    private volatile bool _upToDate;
    private volatile bool _streamClosed;
    private CancellationToken _sessionToken;
    private CancellationTokenRegistration _sessionRegistration;

    /// <summary>For mocking frameworks and test doubles; a response created this way has no session behind it.</summary>
    protected StreamResponse()
    {
        StartOffset = Offset.Beginning;
        _checkpoint = new StreamCheckpoint(Offset.Beginning);
    }

    private StreamResponse(DurableStream stream, NativeReader reader, Offset start, string? cursor, LiveMode live)
    {
        _stream = stream;
        _reader = reader;
        StartOffset = start;
        Live = live;
        _checkpoint = new StreamCheckpoint(start, cursor);
        StartTelemetry(stream.Target, start, live);
    }

    /// <summary>Opens the native session (no I/O; <see cref="PrefetchAsync"/> fetches the first chunk).</summary>
    internal static StreamResponse Open(DurableStream stream, Offset offset, string? cursor, LiveMode live, int maxChunkBytes, long skipBytes, long skipMessages, IReadOnlyDictionary<string, string>? headers) =>
        new(stream, NativeReader.Open(stream.Native, offset.Value, cursor, live, maxChunkBytes, skipBytes, skipMessages, headers), offset, cursor, live);

    /// <summary>
    /// Scopes the whole session to <paramref name="token"/> (the one passed to
    /// <see cref="DurableStream.StreamAsync"/>): when it fires, a pending read stops and later
    /// reads throw <see cref="OperationCanceledException"/> for it, whatever token the Read method got.
    /// </summary>
    internal void ScopeTo(CancellationToken token)
    {
        if (!token.CanBeCanceled)
        {
            return;
        }
        _sessionToken = token;
        _sessionRegistration = token.UnsafeRegister(static state => ((StreamResponse)state!).OnTokenCancelled(), this);
    }

    /// <summary>Releases the registration on the session token (the session ended or was disposed).</summary>
    private void UnscopeSession()
    {
        _sessionRegistration.Dispose(); // idempotent
    }

    // ------------------------------------------------------------------ state

    /// <summary>The stream being read.</summary>
    public virtual string Url => _stream?.Url ?? string.Empty;

    /// <summary>The URL without user info or query values, for messages (<see cref="Diagnostics.Redaction"/>).</summary>
    private string SafeUrl => Diagnostics.Redaction.Url(Url);

    /// <summary>The live mode of the session.</summary>
    public virtual LiveMode Live { get; }

    /// <summary>The current position: just past the data consumed so far (<see cref="StartOffset"/> before any).</summary>
    public virtual Offset Offset => _checkpoint.Offset;

    /// <summary>Where the session started.</summary>
    public virtual Offset StartOffset { get; }

    /// <summary>Where to resume after the data consumed so far (offset and cursor).</summary>
    public virtual StreamCheckpoint Checkpoint => _checkpoint;

    /// <summary>Whether the data consumed so far reached the stream's tail when it was served.</summary>
    public virtual bool UpToDate => _upToDate;

    /// <summary>Whether the stream is closed and all its data has been consumed (end of stream).</summary>
    public virtual bool StreamClosed => _streamClosed;

    /// <summary>The stream's content type, once known (after the first response).</summary>
    public virtual string? ContentType => _stream?.ContentType;

    // ------------------------------------------------------------------ lifecycle

    /// <summary>
    /// Cancels the session: a pending read stops promptly with <see cref="OperationCanceledException"/>,
    /// and later reads throw it too. Safe to call from any thread, any number of times.
    /// </summary>
    public virtual void Cancel()
    {
        _cancelRequested = true;
        _reader?.Cancel();
    }

    /// <summary>Ends the session and releases the native reader (a pending read then throws <see cref="ObjectDisposedException"/>).</summary>
    /// <returns>A task that completes once a pending native read has finished.</returns>
    public virtual async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _reader is null)
        {
            GC.SuppressFinalize(this);
            return;
        }
        UnscopeSession();
        await _reader.DisposeAsync().ConfigureAwait(false);
        await DiscardReadAheadAsync().ConfigureAwait(false);
        _prefetched?.Dispose();
        _prefetched = null;
        Interlocked.Exchange(ref _current, null)?.Dispose();
        StopActivity(null);
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// The session's fields (the URL without user info or query values):
    /// <c>StreamResponse { Url = ..., Live = ..., StartOffset = ..., Offset = ..., ... }</c>.
    /// </summary>
    /// <returns>The text.</returns>
    public override string ToString()
    {
        if (_reader is null)
        {
            return "StreamResponse (test double)";
        }
        var state = Volatile.Read(ref _disposed) != 0 ? "disposed" : _finished && _prefetched is null ? "ended" : _consumerName is null ? "not read yet" : "reading";
        var checkpoint = _checkpoint;
        return Display.Of(
            $"StreamResponse {{ Url = {Display.Url(_stream?.Url)}, Live = {Live}, StartOffset = {StartOffset.Value}, Offset = {checkpoint.Offset.Value}, Cursor = {Display.Value(checkpoint.Cursor)}, UpToDate = {_upToDate}, StreamClosed = {_streamClosed}, ContentType = {Display.Value(_stream?.ContentType)}, Consumer = {Display.Value(_consumerName)}, State = {state} }}");
    }

    private void Claim(string method)
    {
        if (_reader is null)
        {
            throw new InvalidOperationException("This StreamResponse was not created by DurableStream.StreamAsync and has no read session behind it.");
        }
        if (Interlocked.CompareExchange(ref _consumer, 1, 0) != 0)
        {
            throw new InvalidOperationException(
                $"StreamResponse is a single-consumer abstraction: {method} cannot be used because {_consumerName} was already called on this response. "
                + "Call only one Read*Async method per response; start another read with DurableStream.StreamAsync (e.g. from response.Checkpoint).");
        }
        _consumerName = method;
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
    }
}
