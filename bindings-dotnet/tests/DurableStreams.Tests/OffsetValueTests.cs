using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary><see cref="Offset"/> as a readonly struct value and <see cref="StreamCheckpoint"/> as a record struct.</summary>
public class OffsetValueTests
{
    [Fact]
    public void Offset_is_a_readonly_struct_whose_default_has_no_value()
    {
        Assert.True(typeof(Offset).IsValueType);
        Assert.True(typeof(Offset).IsDefined(typeof(System.Runtime.CompilerServices.IsReadOnlyAttribute), inherit: false));
        var none = default(Offset);
        Assert.False(none.HasValue);
        Assert.Equal(string.Empty, none.Value);
        Assert.False(none.IsBeginning);
        Assert.False(none.IsNow);
        Assert.NotEqual(Offset.Beginning, none);
        Assert.True(Offset.Beginning.HasValue);
        Assert.True(Offset.Beginning.IsBeginning);
        Assert.True(Offset.Now.IsNow);
        Assert.Equal("-1", Offset.Beginning.Value);
        Assert.Equal("now", Offset.Now.Value);
    }

    [Fact]
    public void Offsets_order_default_then_beginning_then_tokens_then_now()
    {
        var token = new Offset("0000_0001");
        Assert.True(Offset.Beginning < token);
        Assert.True(token < Offset.Now);
        Assert.True(Offset.Beginning < Offset.Now);
        Assert.True(default(Offset) < Offset.Beginning);
        Assert.True(Offset.Now > token);
        Assert.True(token >= new Offset("0000_0001"));
        Assert.True(token <= new Offset("0000_0001"));
        Assert.Equal(0, token.CompareTo(new Offset("0000_0001")));

        // Tokens compare ordinally (not culture-aware, not case-insensitive).
        Assert.True(new Offset("0000_0001") < new Offset("0000_0002"));
        Assert.True(new Offset("0000_0009") < new Offset("0000_0010"));
        Assert.True(new Offset("B") < new Offset("a"), "ordinal: upper case sorts before lower case");
        Assert.True(new Offset("a") < new Offset("b"));
        Assert.NotEqual(new Offset("a"), new Offset("A"));
        var sorted = new[] { Offset.Now, new Offset("2_0"), Offset.Beginning, new Offset("10_0"), default }.Order().ToArray();
        Assert.Equal([default, Offset.Beginning, new Offset("10_0"), new Offset("2_0"), Offset.Now], sorted);
    }

    [Fact]
    public void Offset_equality_is_by_token()
    {
        Assert.Equal(new Offset("3_3"), new Offset("3_3"));
        Assert.True(new Offset("3_3") == new Offset("3_3"));
        Assert.True(new Offset("3_3") != new Offset("3_4"));
        Assert.Equal(new Offset("3_3").GetHashCode(), new Offset("3_3").GetHashCode());
        Assert.Equal(Offset.Beginning, new Offset("-1"));
        Assert.Equal(Offset.Now, new Offset("now"));
        Assert.True(new Offset("3_3").Equals((object)new Offset("3_3")));
        Assert.False(new Offset("3_3").Equals("3_3"));
    }

    [Fact]
    public void Explicit_conversion_from_string_validates()
    {
        var offset = (Offset)"abc";
        Assert.Equal("abc", offset.Value);
        Assert.Equal(new Offset("abc"), offset);
        foreach (var bad in new[] { "a/b", "a,b", "a&b", "a=b", "a?b", "", "a\nb", new string('x', 1025) })
        {
            Assert.Throws<ArgumentException>(() => (Offset)bad);
            Assert.False(Offset.TryParse(bad, out _));
        }
        Assert.Throws<ArgumentNullException>(() => (Offset)(string)null!);
        Assert.True(Offset.TryParse(new string('x', 1024), out _));
    }

    [Fact]
    public void Implicit_conversion_to_string_gives_the_token()
    {
        string text = new Offset("12_34");
        Assert.Equal("12_34", text);
        string beginning = Offset.Beginning;
        Assert.Equal("-1", beginning);
        string none = default(Offset);
        Assert.Equal(string.Empty, none);
        Assert.Equal("12_34", new Offset("12_34").ToString());
    }

    [Fact]
    public void Checkpoint_converts_implicitly_from_an_offset()
    {
        StreamCheckpoint checkpoint = new Offset("5_5");
        Assert.Equal(new Offset("5_5"), checkpoint.Offset);
        Assert.Null(checkpoint.Cursor);
        Assert.Equal("5_5", checkpoint.ToString());
    }

    [Fact]
    public void Checkpoint_converts_explicitly_from_its_saved_form_and_round_trips()
    {
        var checkpoint = (StreamCheckpoint)"5_5,cursor-9";
        Assert.Equal(new Offset("5_5"), checkpoint.Offset);
        Assert.Equal("cursor-9", checkpoint.Cursor);
        Assert.Equal("5_5,cursor-9", checkpoint.ToString());
        Assert.Equal(checkpoint, (StreamCheckpoint)checkpoint.ToString());
        Assert.Equal(checkpoint, StreamCheckpoint.Parse(checkpoint.ToString()));

        var offsetOnly = (StreamCheckpoint)"5_5";
        Assert.Null(offsetOnly.Cursor);
        Assert.Equal("5_5", offsetOnly.ToString());
        // A cursor may itself contain commas: only the first one separates.
        var commas = new StreamCheckpoint(new Offset("1_1"), "c,d");
        Assert.Equal(commas, (StreamCheckpoint)commas.ToString());
        Assert.Throws<ArgumentException>(() => (StreamCheckpoint)"a/b,cursor");
        Assert.Throws<ArgumentException>(() => (StreamCheckpoint)",cursor");
    }

    [Fact]
    public void Checkpoints_are_equal_by_offset_and_cursor()
    {
        var a = new StreamCheckpoint(new Offset("1_1"), "c");
        Assert.Equal(a, new StreamCheckpoint(new Offset("1_1"), "c"));
        Assert.True(a == new StreamCheckpoint(new Offset("1_1"), "c"));
        Assert.Equal(a.GetHashCode(), new StreamCheckpoint(new Offset("1_1"), "c").GetHashCode());
        Assert.NotEqual(a, new StreamCheckpoint(new Offset("1_1"), "d"));
        Assert.NotEqual(a, new StreamCheckpoint(new Offset("1_2"), "c"));
        Assert.NotEqual(a, new StreamCheckpoint(new Offset("1_1")));
        // An empty cursor is no cursor.
        Assert.Equal(new StreamCheckpoint(new Offset("1_1")), new StreamCheckpoint(new Offset("1_1"), string.Empty));
        Assert.Equal(a, a with { });
        Assert.True(typeof(StreamCheckpoint).IsValueType);
    }
}

/// <summary><c>default(Offset)</c> on a real read means the start of the stream.</summary>
[Collection(ReadCollection.Name)]
public class OffsetValueServerTests : ServerTest
{
    public OffsetValueServerTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_default_offset_reads_from_the_beginning(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain", "default-offset");
        var first = await stream.AppendAsync("first ");
        await stream.AppendAsync("second");

        await using (var fromDefault = await stream.StreamAsync(new StreamOptions { Offset = default(Offset) }, Timeout()))
        {
            Assert.Equal("first second", await fromDefault.ReadAllTextAsync(Timeout()));
        }
        // A saved token resumes after it, and tokens the server mints sort in stream order.
        await using (var fromToken = await stream.StreamAsync(new StreamOptions { Offset = (Offset)(string)first.Offset }, Timeout()))
        {
            Assert.Equal("second", await fromToken.ReadAllTextAsync(Timeout()));
            Assert.True(first.Offset < fromToken.Offset);
            Assert.True(Offset.Beginning < first.Offset);
            Assert.True(fromToken.Offset < Offset.Now);
        }
        await using (var fromCheckpoint = await stream.StreamAsync(new StreamOptions { Checkpoint = default(Offset) }, Timeout()))
        {
            Assert.Equal("first second", await fromCheckpoint.ReadAllTextAsync(Timeout()));
        }
    }
}
