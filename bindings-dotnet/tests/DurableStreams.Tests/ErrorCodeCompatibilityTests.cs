using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// Compatibility with the official .NET client's error surface: <see cref="DurableStreamErrorCode"/>
/// values, <see cref="DurableStreamException.FromStatusCode"/> and <see cref="ProducerErrorEventArgs"/>.
/// </summary>
public class ErrorCodeCompatibilityTests
{
    private const string Url = "http://127.0.0.1:9/v1/stream/s";

    [Fact]
    public void Error_codes_0_to_14_have_the_official_clients_names_and_values()
    {
        var official = new (string Name, int Value)[]
        {
            ("Unknown", 0), ("NotFound", 1), ("ConflictSeq", 2), ("ConflictExists", 3), ("BadRequest", 4),
            ("Unauthorized", 5), ("Forbidden", 6), ("RateLimited", 7), ("SseNotSupported", 8), ("AlreadyClosed", 9),
            ("OffsetGone", 10), ("NetworkError", 11), ("Timeout", 12), ("ParseError", 13), ("StreamClosed", 14),
        };
        foreach (var (name, value) in official)
        {
            Assert.True(Enum.TryParse<DurableStreamErrorCode>(name, out var code), $"{name} is missing");
            Assert.Equal(value, (int)code);
            Assert.Equal(name, ((DurableStreamErrorCode)value).ToString());
        }
        // The finer kinds come after them, without reusing a value.
        var values = Enum.GetValues<DurableStreamErrorCode>().Select(c => (int)c).ToList();
        Assert.Equal(values.Count, values.Distinct().Count());
        Assert.All(Enum.GetValues<DurableStreamErrorCode>().Where(c => !official.Any(o => o.Name == c.ToString())), c => Assert.True((int)c > 14, $"{c} = {(int)c}"));
    }

    public static TheoryData<int, DurableStreamErrorCode, Type> Statuses => new()
    {
        { 400, DurableStreamErrorCode.BadRequest, typeof(DurableStreamException) },
        { 401, DurableStreamErrorCode.Unauthorized, typeof(DurableStreamException) },
        { 403, DurableStreamErrorCode.Forbidden, typeof(DurableStreamException) },
        { 404, DurableStreamErrorCode.NotFound, typeof(StreamNotFoundException) },
        { 409, DurableStreamErrorCode.ConflictExists, typeof(StreamConflictException) },
        { 410, DurableStreamErrorCode.OffsetGone, typeof(StreamGoneException) },
        { 429, DurableStreamErrorCode.RateLimited, typeof(DurableStreamException) },
        { 500, DurableStreamErrorCode.ServerError, typeof(DurableStreamException) },
        { 503, DurableStreamErrorCode.ServerError, typeof(DurableStreamException) },
        { 599, DurableStreamErrorCode.ServerError, typeof(DurableStreamException) },
    };

    [Theory]
    [MemberData(nameof(Statuses))]
    public void FromStatusCode_maps_the_status_to_code_and_type(int status, DurableStreamErrorCode code, Type type)
    {
        var e = DurableStreamException.FromStatusCode(status, Url, "custom message");
        Assert.IsType(type, e);
        Assert.Equal(code, e.Code);
        Assert.Equal(status, e.StatusCode);
        Assert.Equal(Url, e.StreamUrl);
        Assert.Equal(Url, e.Url);
        Assert.Equal("custom message", e.Message);

        var generic = DurableStreamException.FromStatusCode(status, Url);
        Assert.IsType(type, generic);
        Assert.Equal(code, generic.Code);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), generic.Message, StringComparison.Ordinal);
        Assert.Contains(Url, generic.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromStatusCode_maps_other_statuses_and_redacts_the_url_in_its_message()
    {
        var teapot = DurableStreamException.FromStatusCode(418, Url);
        Assert.Equal(DurableStreamErrorCode.UnexpectedStatus, teapot.Code);
        Assert.Equal(418, teapot.StatusCode);
        Assert.Equal(DurableStreamErrorCode.PayloadTooLarge, DurableStreamException.FromStatusCode(413, Url).Code);

        var signed = DurableStreamException.FromStatusCode(403, "http://user:pw@127.0.0.1:9/s?sig=secret-signature");
        Assert.DoesNotContain("secret-signature", signed.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pw@", signed.Message, StringComparison.Ordinal);
        Assert.Contains("403", signed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Producer_error_event_args_can_be_built_with_an_object_initializer()
    {
        var exception = new DurableStreamException("boom", DurableStreamErrorCode.NetworkError);
        var args = new ProducerErrorEventArgs
        {
            Exception = exception,
            Epoch = 3,
            IsRetryable = true,
            MessageCount = 5,
            SequenceRange = (10, 12),
        };
        Assert.Same(exception, args.Exception);
        Assert.Equal(3, args.Epoch);
        Assert.True(args.IsRetryable);
        Assert.Equal(5, args.MessageCount);
        Assert.Equal((10L, 12L), args.SequenceRange);
        Assert.Equal(10, args.FirstSeq);
        Assert.Equal(12, args.LastSeq);

        var unsent = new ProducerErrorEventArgs { Exception = exception, Epoch = 0, IsRetryable = false, MessageCount = 1, SequenceRange = (-1, -1) };
        Assert.Null(unsent.FirstSeq);
        Assert.Null(unsent.LastSeq);
    }

    [Fact]
    public void The_constructor_sets_the_sequence_range()
    {
        var e = new DurableStreamException("x", DurableStreamErrorCode.Timeout);
        var range = new ProducerErrorEventArgs(e, 2, 4, 9, 6);
        Assert.Equal((4L, 9L), range.SequenceRange);
        Assert.Equal(4, range.FirstSeq);
        Assert.Equal(9, range.LastSeq);
        Assert.Equal(2, range.Epoch);
        Assert.Equal(6, range.MessageCount);

        var single = new ProducerErrorEventArgs(e, 2, 4, null, 1);
        Assert.Equal((4L, 4L), single.SequenceRange);

        var unsent = new ProducerErrorEventArgs(e, 2, null, null, 3);
        Assert.Equal((-1L, -1L), unsent.SequenceRange);
        Assert.Null(unsent.FirstSeq);
        Assert.Null(unsent.LastSeq);
        Assert.Equal(int.MaxValue, new ProducerErrorEventArgs(e, 0, null, null, long.MaxValue).MessageCount);
        Assert.Throws<ArgumentNullException>(() => new ProducerErrorEventArgs(null!, 0, null, null, 0));
    }

    public static TheoryData<DurableStreamErrorCode, bool> Retryable => new()
    {
        { DurableStreamErrorCode.NetworkError, true },
        { DurableStreamErrorCode.Timeout, true },
        { DurableStreamErrorCode.ServerError, true },
        { DurableStreamErrorCode.RateLimited, true },
        { DurableStreamErrorCode.BadRequest, false },
        { DurableStreamErrorCode.Forbidden, false },
        { DurableStreamErrorCode.StreamClosed, false },
        { DurableStreamErrorCode.NotFound, false },
        { DurableStreamErrorCode.Unknown, false },
    };

    [Theory]
    [MemberData(nameof(Retryable))]
    public void The_constructor_derives_IsRetryable_from_the_error_code(DurableStreamErrorCode code, bool retryable)
    {
        Assert.Equal(retryable, new ProducerErrorEventArgs(new DurableStreamException("x", code), 0, 1, 1, 1).IsRetryable);
    }

    [Fact]
    public void Stale_epochs_and_foreign_exceptions_are_not_retryable()
    {
        Assert.False(new ProducerErrorEventArgs(new StaleEpochException(5), 0, 1, 1, 1).IsRetryable);
        Assert.False(new ProducerErrorEventArgs(new InvalidOperationException(), 0, 1, 1, 1).IsRetryable);
        Assert.False(new ProducerErrorEventArgs(new TimeoutException(), 0, 1, 1, 1).IsRetryable);
    }
}

/// <summary>A fenced producer's error against the real servers.</summary>
[Collection(ProducerCollection.Name)]
public class StaleEpochCompatibilityTests : ServerTest
{
    public StaleEpochCompatibilityTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_stale_epoch_is_StaleEpochException_with_code_Forbidden_and_name_STALE_EPOCH(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json", "stale");
        await using var old = stream.CreateProducer("fenced", new IdempotentProducerOptions { Epoch = 0, Linger = TimeSpan.Zero });
        var raised = new TaskCompletionSource<ProducerErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        old.OnError += (_, e) => raised.TrySetResult(e);
        old.Append(new MyEvent("old", 0));
        await old.FlushAsync(Timeout());
        await using (var newer = stream.CreateProducer("fenced", new IdempotentProducerOptions { Epoch = 1 }))
        {
            newer.Append(new MyEvent("new", 1));
            await newer.FlushAsync(Timeout());
        }

        old.Append(new MyEvent("zombie", 2));
        var e = await Assert.ThrowsAsync<StaleEpochException>(() => old.FlushAsync(Timeout()));
        Assert.Equal(DurableStreamErrorCode.Forbidden, e.Code);
        Assert.Equal(6, (int)e.Code);
        Assert.Equal("STALE_EPOCH", e.CodeName);
        Assert.Equal(403, e.StatusCode);
        Assert.Equal(1, e.CurrentEpoch);

        var args = await raised.Task.WaitAsync(Timeout());
        Assert.IsType<StaleEpochException>(args.Exception);
        Assert.False(args.IsRetryable);
        Assert.Equal(0, args.Epoch);
        Assert.NotNull(args.FirstSeq);
        Assert.Equal(args.SequenceRange.First, args.FirstSeq);
        Assert.Equal(args.SequenceRange.Last, args.LastSeq);
    }
}
