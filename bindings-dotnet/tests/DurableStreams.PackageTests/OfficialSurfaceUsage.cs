using System.Runtime.Serialization;
using System.Text.Json;

namespace DurableStreams.PackageTests;

/// <summary>
/// Compile-time proof that code written for the official client (official-dotnet-api.txt) compiles
/// against the package unchanged: every listed member used as a user of that client would, with
/// explicit types so that a different signature or kind of type fails the build. Nothing here talks
/// to a server; only <see cref="OfficialSurfaceValueTests"/> runs, on the parts that need none.
/// </summary>
/// <remarks>
/// Deliberate deviation of the package: epochs and sequence numbers are 64-bit where the official
/// client has Int32 (IdempotentProducer.Epoch/NextSeq, IdempotentProducerOptions.Epoch,
/// ProducerErrorEventArgs.Epoch/SequenceRange, StaleEpochException.CurrentEpoch and its constructor,
/// SequenceGapException.ExpectedSeq/ReceivedSeq and its constructor). The code at those places
/// (marked "64-bit deviation") is written so that it compiles with both widths: it reads into long
/// (an int widens) and writes int values (they widen).
/// </remarks>
internal static class OfficialSurfaceUsage
{
    private const string Url = "http://localhost:4437/v1/stream/official-surface";

    internal sealed record Payload(string Name, int N);

    // Compile-time kind checks: a class where a struct is listed (or the reverse) fails the constraint.
    private static void RequireClass<T>()
        where T : class
    {
    }

    private static void RequireStruct<T>()
        where T : struct
    {
    }

    private static void RequireEnum<T>()
        where T : struct, Enum
    {
    }

    private static void RequireEquatable<T>()
        where T : struct, IEquatable<T>
    {
    }

    private static void RequireComparable<T>()
        where T : IComparable<T>
    {
    }

    internal static void UseKinds()
    {
        // covers: AppendOptions (type); CloseOptions (type); CreateStreamOptions (type); DurableStream (type);
        // DurableStreamClientOptions (type); IdempotentProducer (type); IdempotentProducerOptions (type);
        // StreamOptions (type); StreamResponse (type)
        RequireClass<AppendOptions>();
        RequireClass<CloseOptions>();
        RequireClass<CreateStreamOptions>();
        RequireClass<DurableStream>();
        RequireClass<DurableStreamClientOptions>();
        RequireClass<IdempotentProducer>();
        RequireClass<IdempotentProducerOptions>();
        RequireClass<StreamOptions>();
        RequireClass<StreamResponse>();

        // covers: AppendResult (type); ByteChunk (type); CloseResult (type); JsonBatch<T> (type); Offset (type);
        // StreamCheckpoint (type); StreamMetadata (type); TextChunk (type)
        RequireEquatable<AppendResult>();
        RequireEquatable<ByteChunk>();
        RequireEquatable<CloseResult>();
        RequireEquatable<JsonBatch<Payload>>();
        RequireEquatable<Offset>();
        RequireComparable<Offset>();
        RequireEquatable<StreamCheckpoint>();
        RequireEquatable<StreamMetadata>();
        RequireEquatable<TextChunk>();
        RequireStruct<Offset>();

        // covers: CreateStreamResult (type); DurableStreamErrorCode (type); LiveMode (type)
        RequireEnum<CreateStreamResult>();
        RequireEnum<DurableStreamErrorCode>();
        RequireEnum<LiveMode>();
        IFormattable formattable = CreateStreamResult.Created;
        ISpanFormattable spanFormattable = LiveMode.Off;
        IConvertible convertible = DurableStreamErrorCode.Unknown;
        IComparable comparable = LiveMode.Sse;
        _ = (formattable, spanFormattable, convertible, comparable);
    }

    internal static void UseOffset()
    {
        // covers: Offset .ctor(String); Offset Beginning; Offset Now
        Offset offset = new Offset("abc");
        Offset named = new Offset(value: "abd");
        Offset beginning = Offset.Beginning;
        Offset now = Offset.Now;
        Offset unset = default; // a struct: default is a value, not null

        // covers: Offset HasValue; Offset IsBeginning; Offset IsNow
        bool hasValue = unset.HasValue;
        bool isBeginning = beginning.IsBeginning;
        bool isNow = now.IsNow;

        // covers: Offset CompareTo(Offset); Offset Equals(Offset); Offset Equals(Object); Offset GetHashCode(); Offset ToString()
        int order = offset.CompareTo(Offset.Beginning);
        IComparable<Offset> comparableOffset = offset;
        int order2 = comparableOffset.CompareTo(named);
        IEquatable<Offset> equatable = offset;
        bool equal = equatable.Equals(named);
        bool equalObject = offset.Equals((object)named);
        int hash = offset.GetHashCode();
        string text = offset.ToString();

        // covers: Offset op_Equality(Offset,Offset); Offset op_Inequality(Offset,Offset); Offset op_LessThan(Offset,Offset);
        // Offset op_LessThanOrEqual(Offset,Offset); Offset op_GreaterThan(Offset,Offset); Offset op_GreaterThanOrEqual(Offset,Offset)
        bool eq = offset == named;
        bool ne = offset != named;
        bool lt = offset < Offset.Now;
        bool le = offset <= named;
        bool gt = offset > Offset.Beginning;
        bool ge = offset >= named;

        // covers: Offset op_Implicit(Offset); Offset op_Explicit(String)
        string asString = offset;
        Offset fromString = (Offset)"x";

        _ = (hasValue, isBeginning, isNow, order, order2, equal, equalObject, hash, text, eq, ne, lt, le, gt, ge, asString, fromString);
    }

    internal static void UseCheckpointAndResults()
    {
        // covers: StreamCheckpoint .ctor(Offset,String); StreamCheckpoint Offset; StreamCheckpoint Cursor
        StreamCheckpoint checkpoint = new StreamCheckpoint(Offset.Beginning);
        StreamCheckpoint withCursor = new StreamCheckpoint(Offset: new Offset("abc"), Cursor: "c1");
        StreamCheckpoint noCursor = new StreamCheckpoint(Offset.Now, Cursor: null);
        Offset checkpointOffset = checkpoint.Offset;
        string? cursor = withCursor.Cursor;
        StreamCheckpoint changed = checkpoint with { Offset = Offset.Now, Cursor = null }; // init accessors

        // covers: StreamCheckpoint op_Implicit(Offset); StreamCheckpoint op_Explicit(String)
        StreamCheckpoint fromOffset = Offset.Now;
        StreamCheckpoint fromString = (StreamCheckpoint)"abc";

        // covers: StreamCheckpoint Deconstruct(Offset&,String&)
        var (deconstructedOffset, deconstructedCursor) = withCursor;
        withCursor.Deconstruct(out Offset outOffset, out string? outCursor);

        // covers: StreamCheckpoint Equals(StreamCheckpoint); StreamCheckpoint Equals(Object); StreamCheckpoint GetHashCode();
        // StreamCheckpoint ToString(); StreamCheckpoint op_Equality(StreamCheckpoint,StreamCheckpoint);
        // StreamCheckpoint op_Inequality(StreamCheckpoint,StreamCheckpoint)
        bool equal = ((IEquatable<StreamCheckpoint>)checkpoint).Equals(withCursor);
        bool equalObject = checkpoint.Equals((object)withCursor);
        int hash = checkpoint.GetHashCode();
        string text = checkpoint.ToString();
        bool eq = checkpoint == fromOffset;
        bool ne = checkpoint != fromString;

        // covers: AppendResult .ctor(Offset?,Boolean); AppendResult NextOffset; AppendResult Duplicate
        AppendResult result = new AppendResult(null, Duplicate: true);
        AppendResult defaulted = new AppendResult(Offset.Beginning); // Duplicate is optional
        AppendResult named = new AppendResult(NextOffset: new Offset("abc"), Duplicate: false);
        Offset? nextOffset = result.NextOffset;
        bool duplicate = result.Duplicate;
        AppendResult modified = result with { NextOffset = Offset.Now, Duplicate = false };

        // covers: AppendResult Deconstruct(Offset?&,Boolean&)
        var (next, dup) = result;
        result.Deconstruct(out Offset? outNext, out bool outDuplicate);

        // covers: AppendResult Equals(AppendResult); AppendResult Equals(Object); AppendResult GetHashCode(); AppendResult ToString();
        // AppendResult op_Equality(AppendResult,AppendResult); AppendResult op_Inequality(AppendResult,AppendResult)
        bool resultEqual = ((IEquatable<AppendResult>)result).Equals(defaulted);
        bool resultEqualObject = result.Equals((object)named);
        int resultHash = result.GetHashCode();
        string resultText = result.ToString();
        bool resultEq = result == modified;
        bool resultNe = result != named;

        // covers: CloseResult .ctor(Offset); CloseResult FinalOffset; CloseResult Deconstruct(Offset&)
        CloseResult closed = new CloseResult(new Offset("abc"));
        CloseResult closedNamed = new CloseResult(FinalOffset: Offset.Now);
        Offset finalOffset = closed.FinalOffset;
        CloseResult closedModified = closed with { FinalOffset = Offset.Beginning };
        closed.Deconstruct(out Offset outFinalOffset);

        // covers: CloseResult Equals(CloseResult); CloseResult Equals(Object); CloseResult GetHashCode(); CloseResult ToString();
        // CloseResult op_Equality(CloseResult,CloseResult); CloseResult op_Inequality(CloseResult,CloseResult)
        bool closedEqual = ((IEquatable<CloseResult>)closed).Equals(closedNamed);
        bool closedEqualObject = closed.Equals((object)closedNamed);
        int closedHash = closed.GetHashCode();
        string closedText = closed.ToString();
        bool closedEq = closed == closedModified;
        bool closedNe = closed != closedNamed;

        _ = (checkpointOffset, cursor, changed, noCursor, deconstructedOffset, deconstructedCursor, outOffset, outCursor, equal, equalObject, hash, text, eq, ne);
        _ = (nextOffset, duplicate, next, dup, outNext, outDuplicate, resultEqual, resultEqualObject, resultHash, resultText, resultEq, resultNe);
        _ = (finalOffset, outFinalOffset, closedEqual, closedEqualObject, closedHash, closedText, closedEq, closedNe);
    }

    internal static void UseChunks()
    {
        StreamCheckpoint checkpoint = new StreamCheckpoint(new Offset("abc"));
        ReadOnlyMemory<byte> data = new byte[] { 1, 2, 3 };

        // covers: ByteChunk .ctor(ReadOnlyMemory<Byte>,StreamCheckpoint,Boolean); ByteChunk Data; ByteChunk Checkpoint; ByteChunk UpToDate
        ByteChunk chunk = new ByteChunk(data, checkpoint, false);
        ByteChunk namedChunk = new ByteChunk(Data: data, Checkpoint: checkpoint, UpToDate: true);
        ReadOnlyMemory<byte> chunkData = chunk.Data;
        StreamCheckpoint chunkCheckpoint = chunk.Checkpoint;
        bool chunkUpToDate = chunk.UpToDate;
        ByteChunk upToDate = chunk with { UpToDate = true, Data = ReadOnlyMemory<byte>.Empty, Checkpoint = Offset.Now };

        // covers: ByteChunk Deconstruct(ReadOnlyMemory<Byte>&,StreamCheckpoint&,Boolean&)
        var (d, c, u) = chunk;
        chunk.Deconstruct(out ReadOnlyMemory<byte> outData, out StreamCheckpoint outCheckpoint, out bool outUpToDate);

        // covers: ByteChunk Equals(ByteChunk); ByteChunk Equals(Object); ByteChunk GetHashCode(); ByteChunk ToString();
        // ByteChunk op_Equality(ByteChunk,ByteChunk); ByteChunk op_Inequality(ByteChunk,ByteChunk)
        bool chunkEqual = ((IEquatable<ByteChunk>)chunk).Equals(namedChunk);
        bool chunkEqualObject = chunk.Equals((object)namedChunk);
        int chunkHash = chunk.GetHashCode();
        string chunkText = chunk.ToString();
        bool chunkEq = chunk == upToDate;
        bool chunkNe = chunk != namedChunk;

        // covers: TextChunk .ctor(String,StreamCheckpoint,Boolean); TextChunk Text; TextChunk Checkpoint; TextChunk UpToDate
        TextChunk textChunk = new TextChunk("hello", checkpoint, false);
        TextChunk namedText = new TextChunk(Text: "hello", Checkpoint: checkpoint, UpToDate: true);
        string text = textChunk.Text;
        StreamCheckpoint textCheckpoint = textChunk.Checkpoint;
        bool textUpToDate = textChunk.UpToDate;
        TextChunk textModified = textChunk with { Text = "bye", Checkpoint = checkpoint, UpToDate = true };

        // covers: TextChunk Deconstruct(String&,StreamCheckpoint&,Boolean&)
        var (t, tc, tu) = textChunk;
        textChunk.Deconstruct(out string outText, out StreamCheckpoint outTextCheckpoint, out bool outTextUpToDate);

        // covers: TextChunk Equals(TextChunk); TextChunk Equals(Object); TextChunk GetHashCode(); TextChunk ToString();
        // TextChunk op_Equality(TextChunk,TextChunk); TextChunk op_Inequality(TextChunk,TextChunk)
        bool textEqual = ((IEquatable<TextChunk>)textChunk).Equals(namedText);
        bool textEqualObject = textChunk.Equals((object)namedText);
        int textHash = textChunk.GetHashCode();
        string textText = textChunk.ToString();
        bool textEq = textChunk == textModified;
        bool textNe = textChunk != namedText;

        // covers: JsonBatch<T> .ctor(IReadOnlyList<T>,StreamCheckpoint,Boolean); JsonBatch<T> Items; JsonBatch<T> Checkpoint; JsonBatch<T> UpToDate
        List<Payload?> items = [new Payload("a", 1), null]; // items may be null (a JSON null)
        JsonBatch<Payload> batch = new JsonBatch<Payload>(items, checkpoint, false);
        JsonBatch<Payload> namedBatch = new JsonBatch<Payload>(Items: items, Checkpoint: checkpoint, UpToDate: true);
        IReadOnlyList<Payload?> batchItems = batch.Items;
        StreamCheckpoint batchCheckpoint = batch.Checkpoint;
        bool batchUpToDate = batch.UpToDate;
        JsonBatch<Payload> batchModified = batch with { Items = [], Checkpoint = checkpoint, UpToDate = true };

        // covers: JsonBatch<T> Deconstruct(IReadOnlyList<T>&,StreamCheckpoint&,Boolean&)
        var (bi, bc, bu) = batch;
        batch.Deconstruct(out IReadOnlyList<Payload?> outItems, out StreamCheckpoint outBatchCheckpoint, out bool outBatchUpToDate);

        // covers: JsonBatch<T> Equals(JsonBatch<T>); JsonBatch<T> Equals(Object); JsonBatch<T> GetHashCode(); JsonBatch<T> ToString();
        // JsonBatch<T> op_Equality(JsonBatch<T>,JsonBatch<T>); JsonBatch<T> op_Inequality(JsonBatch<T>,JsonBatch<T>)
        bool batchEqual = ((IEquatable<JsonBatch<Payload>>)batch).Equals(namedBatch);
        bool batchEqualObject = batch.Equals((object)namedBatch);
        int batchHash = batch.GetHashCode();
        string batchText = batch.ToString();
        bool batchEq = batch == batchModified;
        bool batchNe = batch != namedBatch;

        _ = (chunkData, chunkCheckpoint, chunkUpToDate, d, c, u, outData, outCheckpoint, outUpToDate, chunkEqual, chunkEqualObject, chunkHash, chunkText, chunkEq, chunkNe);
        _ = (text, textCheckpoint, textUpToDate, t, tc, tu, outText, outTextCheckpoint, outTextUpToDate, textEqual, textEqualObject, textHash, textText, textEq, textNe);
        _ = (batchItems, batchCheckpoint, batchUpToDate, bi, bc, bu, outItems, outBatchCheckpoint, outBatchUpToDate, batchEqual, batchEqualObject, batchHash, batchText, batchEq, batchNe);
        _ = FirstItem(batch);
    }

    // In generic code T? of an unconstrained T is the element type as the official client declares it.
    private static T? FirstItem<T>(JsonBatch<T> batch)
    {
        IReadOnlyList<T?> items = batch.Items;
        return items.Count > 0 ? items[0] : default;
    }

    internal static void UseMetadata()
    {
        // covers: StreamMetadata .ctor(Boolean,String,Offset?,String,String,TimeSpan?,DateTimeOffset?,Boolean); StreamMetadata Exists;
        // StreamMetadata ContentType; StreamMetadata Offset; StreamMetadata ETag; StreamMetadata CacheControl; StreamMetadata Ttl;
        // StreamMetadata ExpiresAt; StreamMetadata StreamClosed
        StreamMetadata metadata = new StreamMetadata(true, "application/json", new Offset("abc"), "etag", "no-cache", TimeSpan.FromMinutes(5), DateTimeOffset.UnixEpoch);
        StreamMetadata named = new StreamMetadata(
            Exists: true,
            ContentType: null,
            Offset: null,
            ETag: null,
            CacheControl: null,
            Ttl: null,
            ExpiresAt: null,
            StreamClosed: true);
        bool exists = metadata.Exists;
        string? contentType = metadata.ContentType;
        Offset? offset = metadata.Offset;
        string? etag = metadata.ETag;
        string? cacheControl = metadata.CacheControl;
        TimeSpan? ttl = metadata.Ttl;
        DateTimeOffset? expiresAt = metadata.ExpiresAt;
        bool streamClosed = metadata.StreamClosed;
        StreamMetadata modified = metadata with
        {
            Exists = false,
            ContentType = "text/plain",
            Offset = Offset.Now,
            ETag = "e2",
            CacheControl = null,
            Ttl = null,
            ExpiresAt = null,
            StreamClosed = true,
        };

        // covers: StreamMetadata Deconstruct(Boolean&,String&,Offset?&,String&,String&,TimeSpan?&,DateTimeOffset?&,Boolean&)
        var (e, ct, o, et, cc, tt, ea, sc) = metadata;
        metadata.Deconstruct(out bool outExists, out string? outContentType, out Offset? outOffset, out string? outETag, out string? outCacheControl, out TimeSpan? outTtl, out DateTimeOffset? outExpiresAt, out bool outClosed);

        // covers: StreamMetadata Equals(StreamMetadata); StreamMetadata Equals(Object); StreamMetadata GetHashCode(); StreamMetadata ToString();
        // StreamMetadata op_Equality(StreamMetadata,StreamMetadata); StreamMetadata op_Inequality(StreamMetadata,StreamMetadata)
        bool equal = ((IEquatable<StreamMetadata>)metadata).Equals(named);
        bool equalObject = metadata.Equals((object)named);
        int hash = metadata.GetHashCode();
        string text = metadata.ToString();
        bool eq = metadata == modified;
        bool ne = metadata != named;

        _ = (exists, contentType, offset, etag, cacheControl, ttl, expiresAt, streamClosed, e, ct, o, et, cc, tt, ea, sc);
        _ = (outExists, outContentType, outOffset, outETag, outCacheControl, outTtl, outExpiresAt, outClosed, equal, equalObject, hash, text, eq, ne);
    }

    internal static void UseEnums()
    {
        // covers: CreateStreamResult Created; CreateStreamResult AlreadyExisted
        CreateStreamResult created = CreateStreamResult.AlreadyExisted;
        switch (created)
        {
            case CreateStreamResult.Created:
            case CreateStreamResult.AlreadyExisted:
                break;
            default:
                break;
        }
        int createdValue = (int)created;

        // covers: LiveMode Off; LiveMode LongPoll; LiveMode Sse
        LiveMode[] modes = [LiveMode.Off, LiveMode.LongPoll, LiveMode.Sse];

        // covers: DurableStreamErrorCode Unknown; DurableStreamErrorCode NotFound; DurableStreamErrorCode ConflictSeq;
        // DurableStreamErrorCode ConflictExists; DurableStreamErrorCode BadRequest; DurableStreamErrorCode Unauthorized;
        // DurableStreamErrorCode Forbidden; DurableStreamErrorCode RateLimited; DurableStreamErrorCode SseNotSupported;
        // DurableStreamErrorCode AlreadyClosed; DurableStreamErrorCode OffsetGone; DurableStreamErrorCode NetworkError;
        // DurableStreamErrorCode Timeout; DurableStreamErrorCode ParseError; DurableStreamErrorCode StreamClosed
        DurableStreamErrorCode[] codes =
        [
            DurableStreamErrorCode.Unknown, DurableStreamErrorCode.NotFound, DurableStreamErrorCode.ConflictSeq,
            DurableStreamErrorCode.ConflictExists, DurableStreamErrorCode.BadRequest, DurableStreamErrorCode.Unauthorized,
            DurableStreamErrorCode.Forbidden, DurableStreamErrorCode.RateLimited, DurableStreamErrorCode.SseNotSupported,
            DurableStreamErrorCode.AlreadyClosed, DurableStreamErrorCode.OffsetGone, DurableStreamErrorCode.NetworkError,
            DurableStreamErrorCode.Timeout, DurableStreamErrorCode.ParseError, DurableStreamErrorCode.StreamClosed,
        ];
        _ = (createdValue, modes, codes);
    }

    internal static void UseOptions()
    {
        // covers: AppendOptions .ctor(); AppendOptions Headers; AppendOptions Seq
        AppendOptions appendOptions = new AppendOptions { Seq = "000001" };
        appendOptions.Headers = new Dictionary<string, string>();
        Dictionary<string, string>? appendHeaders = appendOptions.Headers;
        string? seq = appendOptions.Seq;
        appendOptions.Seq = null; // the list's '?' on reference types: null must be assignable without a warning
        appendOptions.Headers = null;

        // covers: CloseOptions .ctor(); CloseOptions Data; CloseOptions ContentType; CloseOptions Headers
        CloseOptions closeOptions = new CloseOptions { Data = new byte[] { 1 }, ContentType = "application/octet-stream" };
        closeOptions.Headers = new Dictionary<string, string> { ["x-close"] = "1" };
        byte[]? closeData = closeOptions.Data;
        string? closeContentType = closeOptions.ContentType;
        Dictionary<string, string>? closeHeaders = closeOptions.Headers;
        closeOptions.Data = null;
        closeOptions.ContentType = null;
        closeOptions.Headers = null;

        // covers: CreateStreamOptions .ctor(); CreateStreamOptions Closed; CreateStreamOptions ContentType; CreateStreamOptions ExpiresAt;
        // CreateStreamOptions Headers; CreateStreamOptions InitialData; CreateStreamOptions Ttl
        CreateStreamOptions createOptions = new CreateStreamOptions
        {
            ContentType = "application/json",
            Ttl = TimeSpan.FromHours(1),
            ExpiresAt = DateTimeOffset.UtcNow.AddDays(1),
            Closed = false,
        };
        createOptions.InitialData = new byte[] { 1, 2 };
        createOptions.Headers = new Dictionary<string, string>();
        bool createClosed = createOptions.Closed;
        string? createContentType = createOptions.ContentType;
        DateTimeOffset? createExpiresAt = createOptions.ExpiresAt;
        Dictionary<string, string>? createHeaders = createOptions.Headers;
        byte[]? initialData = createOptions.InitialData;
        TimeSpan? createTtl = createOptions.Ttl;
        createOptions.Ttl = null;
        createOptions.ExpiresAt = null;
        createOptions.ContentType = null;
        createOptions.Headers = null;
        createOptions.InitialData = null;

        // covers: StreamOptions .ctor(); StreamOptions Checkpoint; StreamOptions Cursor; StreamOptions Headers; StreamOptions Live; StreamOptions Offset
        StreamCheckpoint checkpoint = new StreamCheckpoint(new Offset("abc"), "cursor");
        StreamOptions streamOptions = new StreamOptions { Checkpoint = checkpoint, Live = LiveMode.LongPoll };
        StreamCheckpoint? noCheckpoint = null;
        streamOptions.Checkpoint = noCheckpoint; // only the setter is listed; it takes StreamCheckpoint?
        streamOptions.Cursor = "cursor";
        streamOptions.Headers = new Dictionary<string, string>();
        streamOptions.Live = LiveMode.Sse;
        streamOptions.Offset = Offset.Beginning;
        string? streamCursor = streamOptions.Cursor;
        Dictionary<string, string>? streamHeaders = streamOptions.Headers;
        LiveMode live = streamOptions.Live;
        Offset? streamOffset = streamOptions.Offset;
        streamOptions.Offset = null;
        streamOptions.Cursor = null;
        streamOptions.Headers = null;

        // covers: DurableStreamClientOptions .ctor(); DurableStreamClientOptions BaseUrl; DurableStreamClientOptions DefaultHeaders;
        // DurableStreamClientOptions DynamicHeaders; DurableStreamClientOptions InitialRetryDelay; DurableStreamClientOptions JsonSerializerOptions;
        // DurableStreamClientOptions MaxRetries; DurableStreamClientOptions MaxRetryDelay; DurableStreamClientOptions RetryMultiplier;
        // DurableStreamClientOptions Timeout
        DurableStreamClientOptions clientOptions = new DurableStreamClientOptions
        {
            BaseUrl = "http://localhost:4437",
            DefaultHeaders = new Dictionary<string, string> { ["x-app"] = "test" },
            DynamicHeaders = new Dictionary<string, Func<CancellationToken, ValueTask<string>>>
            {
                ["Authorization"] = _ => ValueTask.FromResult("Bearer token"),
            },
            InitialRetryDelay = TimeSpan.FromMilliseconds(100),
            JsonSerializerOptions = new JsonSerializerOptions(JsonSerializerDefaults.Web),
            MaxRetries = 3,
            MaxRetryDelay = TimeSpan.FromSeconds(5),
            RetryMultiplier = 2.0,
            Timeout = TimeSpan.FromSeconds(30),
        };
        string? baseUrl = clientOptions.BaseUrl;
        Dictionary<string, string>? defaultHeaders = clientOptions.DefaultHeaders;
        Dictionary<string, Func<CancellationToken, ValueTask<string>>>? dynamicHeaders = clientOptions.DynamicHeaders;
        TimeSpan initialRetryDelay = clientOptions.InitialRetryDelay;
        JsonSerializerOptions? jsonOptions = clientOptions.JsonSerializerOptions;
        int maxRetries = clientOptions.MaxRetries;
        TimeSpan maxRetryDelay = clientOptions.MaxRetryDelay;
        double retryMultiplier = clientOptions.RetryMultiplier;
        TimeSpan? timeout = clientOptions.Timeout;
        clientOptions.MaxRetries = maxRetries; // int both ways: neither narrower nor wider
        clientOptions.RetryMultiplier = retryMultiplier;
        clientOptions.Timeout = null;
        clientOptions.JsonSerializerOptions = null;
        clientOptions.DynamicHeaders = null;
        clientOptions.DefaultHeaders = null;
        clientOptions.BaseUrl = null;

        // covers: IdempotentProducerOptions .ctor(); IdempotentProducerOptions AutoClaim; IdempotentProducerOptions ContentType;
        // IdempotentProducerOptions Epoch; IdempotentProducerOptions Linger; IdempotentProducerOptions MaxBatchBytes;
        // IdempotentProducerOptions MaxBufferedBytes; IdempotentProducerOptions MaxBufferedMessages; IdempotentProducerOptions MaxInFlight
        int startEpoch = 2;
        IdempotentProducerOptions producerOptions = new IdempotentProducerOptions
        {
            AutoClaim = true,
            ContentType = "application/json",
            Epoch = startEpoch, // 64-bit deviation: an int widens to the package's long
            Linger = TimeSpan.FromMilliseconds(5),
            MaxBatchBytes = 1024 * 1024,
            MaxBufferedBytes = 64L * 1024 * 1024,
            MaxBufferedMessages = 10_000,
            MaxInFlight = 5,
        };
        bool autoClaim = producerOptions.AutoClaim;
        string? producerContentType = producerOptions.ContentType;
        long producerEpoch = producerOptions.Epoch; // 64-bit deviation: Int32 there, Int64 here; long holds both
        TimeSpan linger = producerOptions.Linger;
        int maxBatchBytes = producerOptions.MaxBatchBytes;
        long maxBufferedBytes = producerOptions.MaxBufferedBytes;
        int maxBufferedMessages = producerOptions.MaxBufferedMessages;
        int maxInFlight = producerOptions.MaxInFlight;
        producerOptions.MaxBatchBytes = maxBatchBytes;
        producerOptions.MaxBufferedBytes = maxBufferedBytes; // Int64 in both
        producerOptions.MaxBufferedMessages = maxBufferedMessages;
        producerOptions.MaxInFlight = maxInFlight;
        producerOptions.ContentType = null;

        _ = (appendHeaders, seq, closeData, closeContentType, closeHeaders);
        _ = (createClosed, createContentType, createExpiresAt, createHeaders, initialData, createTtl);
        _ = (streamCursor, streamHeaders, live, streamOffset);
        _ = (baseUrl, defaultHeaders, dynamicHeaders, initialRetryDelay, jsonOptions, maxRetryDelay, timeout);
        _ = (autoClaim, producerContentType, producerEpoch, linger);
    }

    internal static void UseExceptions()
    {
        var inner = new InvalidOperationException("inner");

        // covers: DurableStreamException (type); DurableStreamException .ctor(String,DurableStreamErrorCode,Int32?,String,Exception);
        // DurableStreamException Code; DurableStreamException StatusCode; DurableStreamException StreamUrl
        DurableStreamException full = new DurableStreamException("m", DurableStreamErrorCode.ConflictSeq, 409, "u", inner);
        DurableStreamException minimal = new DurableStreamException("m", DurableStreamErrorCode.Unknown);
        DurableStreamException nulls = new DurableStreamException("m", DurableStreamErrorCode.Unknown, statusCode: null, streamUrl: null, innerException: null);
        DurableStreamException named = new DurableStreamException(
            message: "m",
            code: DurableStreamErrorCode.BadRequest,
            statusCode: 400,
            streamUrl: Url,
            innerException: inner);
        DurableStreamErrorCode code = full.Code;
        int? statusCode = full.StatusCode;
        string? streamUrl = full.StreamUrl;
        Exception asException = full;
        ISerializable serializable = full;

        // covers: DurableStreamException FromStatusCode(Int32,String,String)
        DurableStreamException fromStatus = DurableStreamException.FromStatusCode(404, Url, "msg");
        DurableStreamException fromStatusNamed = DurableStreamException.FromStatusCode(statusCode: 500, url: Url);
        DurableStreamException fromStatusNoMessage = DurableStreamException.FromStatusCode(409, Url, message: null);

        // covers: StreamNotFoundException (type); StreamNotFoundException .ctor(String)
        StreamNotFoundException notFound = new StreamNotFoundException(url: Url);
        DurableStreamException notFoundBase = new StreamNotFoundException(Url);

        // covers: StreamClosedException (type); StreamClosedException .ctor(String)
        StreamClosedException streamClosed = new StreamClosedException(url: Url);
        DurableStreamException streamClosedBase = new StreamClosedException(Url);

        // covers: StaleEpochException (type); StaleEpochException .ctor(Int32,String); StaleEpochException CurrentEpoch
        StaleEpochException stale = new StaleEpochException(3); // 64-bit deviation: an int literal fits Int32 and Int64 parameters
        StaleEpochException staleNamed = new StaleEpochException(currentEpoch: 3, url: Url);
        StaleEpochException staleNoUrl = new StaleEpochException(4, url: null);
        long currentEpoch = stale.CurrentEpoch; // 64-bit deviation: long holds Int32 and Int64
        DurableStreamException staleBase = staleNamed;

        // covers: SequenceGapException (type); SequenceGapException .ctor(Int32,Int32,String); SequenceGapException ExpectedSeq;
        // SequenceGapException ReceivedSeq
        int expected = 3;
        SequenceGapException gap = new SequenceGapException(expected, 5); // 64-bit deviation: int arguments widen
        SequenceGapException gapNamed = new SequenceGapException(expectedSeq: 3, receivedSeq: 5, url: Url);
        SequenceGapException gapNoUrl = new SequenceGapException(3, 5, url: null);
        long expectedSeq = gap.ExpectedSeq; // 64-bit deviation
        long receivedSeq = gap.ReceivedSeq; // 64-bit deviation
        DurableStreamException gapBase = gapNamed;

        // covers: ProducerErrorEventArgs (type); ProducerErrorEventArgs .ctor(); ProducerErrorEventArgs Epoch; ProducerErrorEventArgs Exception;
        // ProducerErrorEventArgs IsRetryable; ProducerErrorEventArgs MessageCount; ProducerErrorEventArgs SequenceRange
        int epoch = 7;
        ProducerErrorEventArgs args = new ProducerErrorEventArgs
        {
            Epoch = epoch, // 64-bit deviation: an int widens
            Exception = inner,
            IsRetryable = true,
            MessageCount = 2,
            SequenceRange = (1, 2), // 64-bit deviation: a tuple of int literals converts to (int, int) and (long, long)
        };
        EventArgs asEventArgs = args;
        long argsEpoch = args.Epoch; // 64-bit deviation
        Exception argsException = args.Exception;
        bool isRetryable = args.IsRetryable;
        int messageCount = args.MessageCount;
        var (first, last) = args.SequenceRange; // 64-bit deviation: ValueTuple<long, long> here
        long firstSeq = first;
        long lastSeq = last;

        _ = (minimal, nulls, code, statusCode, streamUrl, asException, serializable, fromStatus, fromStatusNamed, fromStatusNoMessage, staleNoUrl, gapNoUrl);
        _ = (notFound, notFoundBase, streamClosed, streamClosedBase, currentEpoch, staleBase, expectedSeq, receivedSeq, gapBase);
        _ = (asEventArgs, argsEpoch, argsException, isRetryable, messageCount, firstSeq, lastSeq);
    }

    internal static async Task UseClientAsync(CancellationToken ct)
    {
        // covers: DurableStreamClient (type); DurableStreamClient .ctor(); DurableStreamClient .ctor(DurableStreamClientOptions);
        // DurableStreamClient .ctor(DurableStreamClientOptions,Net.Http.HttpClient); DurableStreamClient Dispose(); DurableStreamClient DisposeAsync()
        var options = new DurableStreamClientOptions { BaseUrl = "http://localhost:4437" };
        using var httpClient = new HttpClient();
        using (DurableStreamClient plain = new DurableStreamClient())
        {
            IDisposable disposable = plain;
            IAsyncDisposable asyncDisposable = plain;
            _ = (disposable, asyncDisposable);
        }
        await using (DurableStreamClient withOptions = new DurableStreamClient(options))
        {
        }
        DurableStreamClient withHttpClient = new DurableStreamClient(options, httpClient);
        DurableStreamClient named = new DurableStreamClient(options: options, httpClient: httpClient);
        withHttpClient.Dispose();
        ValueTask disposing = named.DisposeAsync();
        await disposing;

        await using var client = new DurableStreamClient(options);
        await UseEverythingAsync(client, ct);
    }

    internal static async Task UseEverythingAsync(DurableStreamClient client, CancellationToken ct)
    {
        var uri = new Uri(Url);
        var createOptions = new CreateStreamOptions { ContentType = "application/json" };

        // covers: DurableStreamClient CreateStreamAsync(String,CreateStreamOptions,CancellationToken);
        // DurableStreamClient CreateStreamAsync(Uri,CreateStreamOptions,CancellationToken)
        Task<DurableStream> creating = client.CreateStreamAsync(Url);
        DurableStream stream = await creating;
        DurableStream created2 = await client.CreateStreamAsync(Url, createOptions, ct);
        DurableStream created3 = await client.CreateStreamAsync(url: Url, options: createOptions, cancellationToken: ct);
        Task<DurableStream> creatingByUri = client.CreateStreamAsync(uri);
        DurableStream created4 = await creatingByUri;
        DurableStream created5 = await client.CreateStreamAsync(uri: uri, options: createOptions, cancellationToken: ct);
        DurableStream created6 = await client.CreateStreamAsync(Url, options: null);

        // covers: DurableStreamClient ConnectAsync(String,CancellationToken); DurableStreamClient ConnectAsync(Uri,CancellationToken)
        Task<DurableStream> connecting = client.ConnectAsync(Url);
        DurableStream connected = await connecting;
        DurableStream connected2 = await client.ConnectAsync(url: Url, cancellationToken: ct);
        Task<DurableStream> connectingByUri = client.ConnectAsync(uri);
        DurableStream connected3 = await connectingByUri;
        DurableStream connected4 = await client.ConnectAsync(uri: uri, cancellationToken: ct);

        // covers: DurableStreamClient GetStream(String); DurableStreamClient GetStream(Uri)
        DurableStream got = client.GetStream(Url);
        DurableStream gotNamed = client.GetStream(url: Url);
        DurableStream gotByUri = client.GetStream(uri: uri);

        // covers: DurableStreamClient DeleteStreamAsync(String,CancellationToken); DurableStreamClient DeleteStreamAsync(Uri,CancellationToken)
        Task deleting = client.DeleteStreamAsync(Url);
        await deleting;
        await client.DeleteStreamAsync(url: Url, cancellationToken: ct);
        await client.DeleteStreamAsync(uri);
        await client.DeleteStreamAsync(uri: uri, cancellationToken: ct);

        _ = (created2, created3, created4, created5, created6, connected, connected2, connected3, connected4, got, gotNamed, gotByUri);

        await UseStreamAsync(stream, ct);
    }

    internal static async Task UseStreamAsync(DurableStream stream, CancellationToken ct)
    {
        // covers: DurableStream Url; DurableStream ContentType
        string url = stream.Url;
        string? contentType = stream.ContentType;

        // covers: DurableStream CreateAsync(CreateStreamOptions,CancellationToken)
        Task<CreateStreamResult> creating = stream.CreateAsync();
        CreateStreamResult created = await creating;
        CreateStreamResult created2 = await stream.CreateAsync(options: new CreateStreamOptions { InitialData = new byte[] { 1 } }, cancellationToken: ct);
        CreateStreamResult created3 = await stream.CreateAsync(options: null, cancellationToken: ct);
        switch (await stream.CreateAsync(new CreateStreamOptions(), ct))
        {
            case CreateStreamResult.Created:
                break;
            case CreateStreamResult.AlreadyExisted:
                break;
        }

        // covers: DurableStream HeadAsync(CancellationToken)
        Task<StreamMetadata> heading = stream.HeadAsync();
        StreamMetadata metadata = await heading;
        StreamMetadata metadata2 = await stream.HeadAsync(cancellationToken: ct);

        // covers: DurableStream AppendAsync(ReadOnlyMemory<Byte>,AppendOptions,CancellationToken)
        ReadOnlyMemory<byte> bytes = new byte[] { 1, 2, 3 };
        var appendOptions = new AppendOptions { Seq = "1", Headers = new Dictionary<string, string>() };
        Task<AppendResult> appending = stream.AppendAsync(bytes);
        AppendResult appended = await appending;
        AppendResult appended2 = await stream.AppendAsync(bytes, appendOptions, ct);
        AppendResult appended3 = await stream.AppendAsync(data: bytes, options: appendOptions, cancellationToken: ct);
        AppendResult appended4 = await stream.AppendAsync(bytes, cancellationToken: ct);
        AppendResult appended5 = await stream.AppendAsync(bytes, options: null, cancellationToken: ct);

        // covers: DurableStream AppendAsync(String,AppendOptions,CancellationToken)
        Task<AppendResult> appendingText = stream.AppendAsync("text");
        AppendResult appendedText = await appendingText;
        AppendResult appendedText2 = await stream.AppendAsync(data: "text", options: appendOptions, cancellationToken: ct);
        AppendResult appendedText3 = await stream.AppendAsync("text", options: null);

        // covers: DurableStream AppendJsonAsync<T>(T,AppendOptions,CancellationToken)
        Task<AppendResult> appendingJson = stream.AppendJsonAsync(new Payload("a", 1));
        AppendResult appendedJson = await appendingJson;
        AppendResult appendedJson2 = await stream.AppendJsonAsync<Payload>(data: null, options: appendOptions, cancellationToken: ct); // T? data

        // covers: DurableStream StreamAsync(StreamOptions,CancellationToken)
        Task<StreamResponse> streaming = stream.StreamAsync();
        await using (StreamResponse response = await streaming)
        {
            await UseResponseAsync(response, ct);
        }
        await using (StreamResponse response = await stream.StreamAsync(options: new StreamOptions { Offset = Offset.Beginning, Live = LiveMode.Off }, cancellationToken: ct))
        {
            await UseResponseReadersAsync(response, ct);
        }
        await using (StreamResponse response = await stream.StreamAsync(options: null))
        {
        }

        // covers: DurableStream CreateProducer(String,IdempotentProducerOptions)
        IdempotentProducer producer = stream.CreateProducer("producer-1");
        await using (producer)
        {
            await UseProducerAsync(producer, ct);
        }
        await using (IdempotentProducer producer2 = stream.CreateProducer(producerId: "producer-2", options: new IdempotentProducerOptions { AutoClaim = true }))
        {
        }
        await using (IdempotentProducer producer3 = stream.CreateProducer("producer-3", options: null))
        {
        }

        // covers: DurableStream CloseAsync(CloseOptions,CancellationToken)
        Task<CloseResult> closing = stream.CloseAsync();
        CloseResult closed = await closing;
        CloseResult closed2 = await stream.CloseAsync(new CloseOptions { Data = new byte[] { 1 }, ContentType = "application/octet-stream", Headers = new Dictionary<string, string>() }, cancellationToken: ct);
        CloseResult closed3 = await stream.CloseAsync(options: null, cancellationToken: ct);

        // covers: DurableStream DeleteAsync(CancellationToken)
        Task deleting = stream.DeleteAsync();
        await deleting;
        await stream.DeleteAsync(cancellationToken: ct);

        _ = (url, contentType, created, created2, created3, metadata, metadata2, appended, appended2, appended3, appended4, appended5);
        _ = (appendedText, appendedText2, appendedText3, appendedJson, appendedJson2, closed, closed2, closed3);
    }

    internal static async Task UseResponseAsync(StreamResponse response, CancellationToken ct)
    {
        // covers: StreamResponse Url; StreamResponse ContentType; StreamResponse Live; StreamResponse Offset; StreamResponse StartOffset;
        // StreamResponse Checkpoint; StreamResponse StreamClosed; StreamResponse UpToDate
        string url = response.Url;
        string? contentType = response.ContentType;
        LiveMode live = response.Live;
        Offset offset = response.Offset;
        Offset startOffset = response.StartOffset;
        StreamCheckpoint checkpoint = response.Checkpoint;
        bool streamClosed = response.StreamClosed;
        bool upToDate = response.UpToDate;

        // covers: StreamResponse ReadAllBytesAsync(CancellationToken); StreamResponse ReadAllTextAsync(CancellationToken);
        // StreamResponse ReadAllJsonAsync<T>(CancellationToken)
        Task<byte[]> readingBytes = response.ReadAllBytesAsync();
        byte[] allBytes = await readingBytes;
        byte[] allBytes2 = await response.ReadAllBytesAsync(cancellationToken: ct);
        Task<string> readingText = response.ReadAllTextAsync();
        string allText = await readingText;
        string allText2 = await response.ReadAllTextAsync(cancellationToken: ct);
        Task<List<Payload?>> readingJson = response.ReadAllJsonAsync<Payload>();
        List<Payload?> allJson = await readingJson;
        List<Payload?> allJson2 = await response.ReadAllJsonAsync<Payload>(cancellationToken: ct);

        // covers: StreamResponse Cancel(); StreamResponse DisposeAsync()
        response.Cancel();
        ValueTask disposing = response.DisposeAsync();
        await disposing;

        _ = (url, contentType, live, offset, startOffset, checkpoint, streamClosed, upToDate, allBytes, allBytes2, allText, allText2, allJson, allJson2);
    }

    internal static async Task UseResponseReadersAsync(StreamResponse response, CancellationToken ct)
    {
        // covers: StreamResponse ReadBytesAsync(CancellationToken)
        IAsyncEnumerable<ByteChunk> byteChunks = response.ReadBytesAsync();
        await foreach (var chunk in byteChunks)
        {
            ReadOnlyMemory<byte> data = chunk.Data;
            _ = data;
        }
        await foreach (var chunk in response.ReadBytesAsync(cancellationToken: ct))
        {
            _ = chunk.UpToDate;
        }
        await foreach (var chunk in response.ReadBytesAsync().WithCancellation(ct)) // [EnumeratorCancellation]
        {
            _ = chunk.Checkpoint;
        }

        // covers: StreamResponse ReadTextAsync(CancellationToken)
        IAsyncEnumerable<TextChunk> textChunks = response.ReadTextAsync();
        await foreach (var chunk in textChunks)
        {
            string text = chunk.Text;
            _ = text;
        }
        await foreach (var chunk in response.ReadTextAsync(cancellationToken: ct))
        {
            _ = chunk.UpToDate;
        }

        // covers: StreamResponse ReadJsonAsync<T>(CancellationToken)
        IAsyncEnumerable<Payload?> items = response.ReadJsonAsync<Payload>();
        await foreach (var item in items)
        {
            string? name = item?.Name; // T? of a JSON null
            _ = name;
        }
        await foreach (var item in response.ReadJsonAsync<Payload>(cancellationToken: ct))
        {
            _ = item;
        }

        // covers: StreamResponse ReadJsonBatchesAsync<T>(CancellationToken)
        IAsyncEnumerable<JsonBatch<Payload>> batches = response.ReadJsonBatchesAsync<Payload>();
        await foreach (var batch in batches)
        {
            IReadOnlyList<Payload?> batchItems = batch.Items;
            _ = batchItems;
        }
        await foreach (var batch in response.ReadJsonBatchesAsync<Payload>(cancellationToken: ct))
        {
            _ = batch.Checkpoint;
        }
    }

    internal static async Task UseProducerAsync(IdempotentProducer producer, CancellationToken ct)
    {
        // covers: IdempotentProducer OnError(event)
        EventHandler<ProducerErrorEventArgs> handler = (sender, e) =>
        {
            bool retryable = e.IsRetryable;
            var range = e.SequenceRange;
            var (first, last) = e.SequenceRange; // 64-bit deviation: (long, long) here, (int, int) there
            long firstSeq = first;
            long lastSeq = last;
            long epoch = e.Epoch; // 64-bit deviation
            int count = e.MessageCount;
            Exception error = e.Exception;
            _ = (sender, retryable, range, firstSeq, lastSeq, epoch, count, error);
        };
        producer.OnError += handler;
        producer.OnError -= handler;
        producer.OnError += (sender, e) => Console.Error.WriteLine($"{e.Exception.Message} retryable={e.IsRetryable}");

        // covers: IdempotentProducer Epoch; IdempotentProducer NextSeq; IdempotentProducer InFlightCount; IdempotentProducer PendingCount
        long epoch = producer.Epoch; // 64-bit deviation: Int32 there, Int64 here
        long nextSeq = producer.NextSeq; // 64-bit deviation
        int inFlight = producer.InFlightCount;
        int pending = producer.PendingCount;

        // covers: IdempotentProducer Append(ReadOnlyMemory<Byte>); IdempotentProducer Append(String); IdempotentProducer TryAppend(ReadOnlyMemory<Byte>)
        ReadOnlyMemory<byte> bytes = new byte[] { 1, 2 };
        producer.Append(bytes);
        producer.Append(data: bytes);
        producer.Append("text");
        producer.Append(data: "text");
        bool accepted = producer.TryAppend(bytes);
        bool acceptedNamed = producer.TryAppend(data: bytes);

        // covers: IdempotentProducer FlushAsync(CancellationToken); IdempotentProducer RestartAsync(CancellationToken)
        Task flushing = producer.FlushAsync();
        await flushing;
        await producer.FlushAsync(cancellationToken: ct);
        Task restarting = producer.RestartAsync();
        await restarting;
        await producer.RestartAsync(cancellationToken: ct);

        // covers: IdempotentProducer CloseStreamAsync(ReadOnlyMemory<Byte>,CancellationToken)
        Task<AppendResult> closing = producer.CloseStreamAsync();
        AppendResult closed = await closing;
        AppendResult closed2 = await producer.CloseStreamAsync(bytes, ct);
        AppendResult closed3 = await producer.CloseStreamAsync(data: bytes, cancellationToken: ct);
        AppendResult closed4 = await producer.CloseStreamAsync(cancellationToken: ct);

        // covers: IdempotentProducer DisposeAsync()
        IAsyncDisposable asyncDisposable = producer;
        ValueTask disposing = producer.DisposeAsync();
        await disposing;

        _ = (epoch, nextSeq, inFlight, pending, accepted, acceptedNamed, closed, closed2, closed3, closed4, asyncDisposable);
    }
}

/// <summary>Runs the parts of <see cref="OfficialSurfaceUsage"/> that need no server and checks their results.</summary>
public class OfficialSurfaceValueTests
{
    [Fact]
    public void Official_values_conversions_and_error_mapping_behave()
    {
        // The compile-only parts must at least run without a server.
        OfficialSurfaceUsage.UseKinds();
        OfficialSurfaceUsage.UseOffset();
        OfficialSurfaceUsage.UseCheckpointAndResults();
        OfficialSurfaceUsage.UseChunks();
        OfficialSurfaceUsage.UseMetadata();
        OfficialSurfaceUsage.UseEnums();
        OfficialSurfaceUsage.UseOptions();
        OfficialSurfaceUsage.UseExceptions();

        // Offset: a value type with ordinal order and string conversions.
        var a = new Offset("0000_0001");
        var b = new Offset("0000_0002");
        Assert.True(a < b);
        Assert.True(a <= b);
        Assert.True(b > a);
        Assert.True(b >= a);
        Assert.True(a.CompareTo(b) < 0);
        Assert.Equal(0, a.CompareTo(new Offset("0000_0001")));
        Assert.True(a == new Offset("0000_0001"));
        Assert.True(a != b);
        Assert.Equal(a, (Offset)"0000_0001");
        Assert.Equal(a.GetHashCode(), new Offset("0000_0001").GetHashCode());
        string text = a;
        Assert.Equal("0000_0001", text);
        Assert.Equal("0000_0001", a.ToString());
        Assert.True(a.HasValue);
        Assert.False(default(Offset).HasValue);
        Assert.True(Offset.Beginning.IsBeginning);
        Assert.False(Offset.Beginning.IsNow);
        Assert.True(Offset.Now.IsNow);
        Assert.False(a.IsBeginning);
        Assert.True(Offset.Beginning < a);

        // StreamCheckpoint: conversions and positional members.
        StreamCheckpoint fromOffset = a;
        Assert.Equal(a, fromOffset.Offset);
        Assert.Null(fromOffset.Cursor);
        Assert.Equal(b, ((StreamCheckpoint)"0000_0002").Offset);
        var withCursor = new StreamCheckpoint(a, "c1");
        var (checkpointOffset, cursor) = withCursor;
        Assert.Equal(a, checkpointOffset);
        Assert.Equal("c1", cursor);
        Assert.True(withCursor == new StreamCheckpoint(a, "c1"));
        Assert.True(withCursor != fromOffset);
        Assert.Equal(fromOffset, withCursor with { Cursor = null });

        // Record-struct value semantics of the results and chunks.
        var result = new AppendResult(null, Duplicate: true);
        Assert.Null(result.NextOffset);
        Assert.True(result.Duplicate);
        Assert.False(new AppendResult(a).Duplicate);
        var (next, duplicate) = result with { NextOffset = b };
        Assert.Equal(b, next);
        Assert.True(duplicate);
        Assert.True(result == new AppendResult(null, true));
        Assert.True(result != new AppendResult(a, true));

        var close = new CloseResult(b);
        Assert.Equal(b, close.FinalOffset);
        Assert.Equal(close, new CloseResult(new Offset("0000_0002")));

        var data = new byte[] { 1, 2, 3 };
        var chunk = new ByteChunk(data, fromOffset, false);
        Assert.Equal(new byte[] { 1, 2, 3 }, chunk.Data.ToArray());
        Assert.Equal(fromOffset, chunk.Checkpoint);
        Assert.False(chunk.UpToDate);
        var upToDate = chunk with { UpToDate = true };
        Assert.True(upToDate.UpToDate);
        Assert.True(chunk != upToDate);
        Assert.True(chunk == new ByteChunk(data, fromOffset, false)); // same memory, same checkpoint

        var textChunk = new TextChunk("hello", withCursor, true);
        var (chunkText, chunkCheckpoint, chunkUpToDate) = textChunk;
        Assert.Equal("hello", chunkText);
        Assert.Equal(withCursor, chunkCheckpoint);
        Assert.True(chunkUpToDate);
        Assert.Equal(textChunk, new TextChunk("hello", withCursor, true));

        IReadOnlyList<string?> items = ["a", null];
        var batch = new JsonBatch<string>(items, fromOffset, true);
        Assert.Same(items, batch.Items);
        Assert.Null(batch.Items[1]);
        Assert.Equal(batch, new JsonBatch<string>(items, fromOffset, true));

        var metadata = new StreamMetadata(true, "application/json", a, "etag", null, TimeSpan.FromMinutes(1), null);
        Assert.True(metadata.Exists);
        Assert.False(metadata.StreamClosed); // the optional last parameter defaults to false
        Assert.Equal(a, metadata.Offset);
        Assert.Equal("etag", metadata.ETag);
        Assert.Equal(TimeSpan.FromMinutes(1), metadata.Ttl);
        Assert.True((metadata with { StreamClosed = true }).StreamClosed);

        // Enum values: code that stores or switches on numbers must see the official ones.
        Assert.Equal(0, (int)CreateStreamResult.Created);
        Assert.Equal(1, (int)CreateStreamResult.AlreadyExisted);
        Assert.Equal(0, (int)LiveMode.Off);
        Assert.Equal(1, (int)LiveMode.LongPoll);
        Assert.Equal(2, (int)LiveMode.Sse);
        Assert.Equal(0, (int)DurableStreamErrorCode.Unknown);
        Assert.Equal(1, (int)DurableStreamErrorCode.NotFound);
        Assert.Equal(2, (int)DurableStreamErrorCode.ConflictSeq);
        Assert.Equal(3, (int)DurableStreamErrorCode.ConflictExists);
        Assert.Equal(4, (int)DurableStreamErrorCode.BadRequest);
        Assert.Equal(5, (int)DurableStreamErrorCode.Unauthorized);
        Assert.Equal(6, (int)DurableStreamErrorCode.Forbidden);
        Assert.Equal(7, (int)DurableStreamErrorCode.RateLimited);
        Assert.Equal(8, (int)DurableStreamErrorCode.SseNotSupported);
        Assert.Equal(9, (int)DurableStreamErrorCode.AlreadyClosed);
        Assert.Equal(10, (int)DurableStreamErrorCode.OffsetGone);
        Assert.Equal(11, (int)DurableStreamErrorCode.NetworkError);
        Assert.Equal(12, (int)DurableStreamErrorCode.Timeout);
        Assert.Equal(13, (int)DurableStreamErrorCode.ParseError);
        Assert.Equal(14, (int)DurableStreamErrorCode.StreamClosed);

        // FromStatusCode maps 404 to the not-found exception.
        const string url = "http://localhost:4437/v1/stream/missing";
        var notFound = DurableStreamException.FromStatusCode(404, url, "msg");
        Assert.IsType<StreamNotFoundException>(notFound);
        Assert.Equal(DurableStreamErrorCode.NotFound, notFound.Code);
        Assert.Equal(404, notFound.StatusCode);
        Assert.Equal(url, notFound.StreamUrl);

        // The full constructor keeps what it is given.
        var inner = new InvalidOperationException("inner");
        var error = new DurableStreamException("m", DurableStreamErrorCode.ConflictSeq, 409, "u", inner);
        Assert.Equal("m", error.Message);
        Assert.Equal(DurableStreamErrorCode.ConflictSeq, error.Code);
        Assert.Equal(409, error.StatusCode);
        Assert.Equal("u", error.StreamUrl);
        Assert.Same(inner, error.InnerException);

        // The 64-bit members hold what the official client's Int32 ones hold.
        Assert.Equal(5, new StaleEpochException(5, url).CurrentEpoch);
        var gap = new SequenceGapException(3, 5, url);
        Assert.Equal(3, gap.ExpectedSeq);
        Assert.Equal(5, gap.ReceivedSeq);
        var args = new ProducerErrorEventArgs { Epoch = 7, Exception = inner, IsRetryable = false, MessageCount = 2, SequenceRange = (10, 11) };
        var (first, last) = args.SequenceRange;
        Assert.Equal(10, first);
        Assert.Equal(11, last);
        Assert.Equal(7, args.Epoch);
        Assert.Equal(2, args.MessageCount);
        Assert.False(args.IsRetryable);
    }
}
