using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DurableStreams.State;

namespace DurableStreams.Tests;

public sealed record StateUser(string Name, string[]? Tags = null);

public sealed record StateOrder(string Region, int Total);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StateUser))]
[JsonSerializable(typeof(StateOrder))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(string))]
internal sealed partial class StateTestJson : JsonSerializerContext;

/// <summary>The State Protocol's message format, checks and checkpoints, without a server.</summary>
public class StateUnitTests
{
    private static byte[] Utf8(string json) => Encoding.UTF8.GetBytes(json);

    [Theory]
    [InlineData("""{"type":"user","key":"user:123","value":{"name":"Alice","email":"alice@example.com"},"headers":{"operation":"insert","timestamp":"2025-01-15T10:30:00Z"}}""")]
    [InlineData("""{"type":"user","key":"user:123","value":{"name":"Alice"},"old_value":{"name":"Al"},"headers":{"operation":"update","txid":"t1"}}""")]
    [InlineData("""{"type":"user","key":"user:123","old_value":{"name":"Alice"},"headers":{"operation":"delete"}}""")]
    [InlineData("""{"type":"user","key":"user:123","value":null,"headers":{"operation":"delete"}}""")]
    [InlineData("""{"type":"config","key":"theme","value":"dark","headers":{"operation":"upsert","from":"me","offset":"1_2","x-app":"a"}}""")]
    [InlineData("""{"headers":{"control":"snapshot-start","offset":"123456_000"}}""")]
    [InlineData("""{"headers":{"control":"snapshot-end"}}""")]
    [InlineData("""{"headers":{"control":"reset","offset":"123456_000"}}""")]
    public void The_protocols_examples_parse_and_serialize_back_identically(string json)
    {
        var parsed = StateEvents.Parse(Utf8(json), StateTestJson.Default.JsonElement);
        var written = parsed.Change is { } change
            ? StateEvents.Serialize(change, StateTestJson.Default.JsonElement)
            : StateEvents.Serialize(parsed.Control!);
        Assert.True(JsonNode_DeepEquals(json, Encoding.UTF8.GetString(written)), Encoding.UTF8.GetString(written));
    }

    [Fact]
    public void A_delete_keeps_the_difference_between_absent_and_null_value()
    {
        var absent = StateEvents.Parse(Utf8("""{"type":"t","key":"k","headers":{"operation":"delete"}}"""), StateTestJson.Default.JsonElement).Change!;
        var nullValue = StateEvents.Parse(Utf8("""{"type":"t","key":"k","value":null,"headers":{"operation":"delete"}}"""), StateTestJson.Default.JsonElement).Change!;
        Assert.False(absent.HasValue);
        Assert.True(nullValue.HasValue);
        Assert.Equal(JsonValueKind.Null, nullValue.Value.ValueKind);
    }

    [Fact]
    public void Typed_parsing_reads_every_field_and_header()
    {
        var json = """{"key":"1","headers":{"txid":"tx-9","operation":"update","timestamp":"2025-01-15T10:35:00.250Z","from":"svc","x-trace":"abc","n":5},"old_value":{"name":"Al"},"value":{"name":"Alice","tags":["a"]},"type":"user","ignored":true}""";
        var change = StateEvents.Parse(Utf8(json), StateTestJson.Default.StateUser).Change!;
        Assert.Equal(StateOperation.Update, change.Operation);
        Assert.Equal("user", change.EntityType);
        Assert.Equal("1", change.Key);
        Assert.Equal("Alice", change.Value!.Name);
        Assert.Equal(["a"], change.Value.Tags!);
        Assert.Equal("Al", change.OldValue!.Name);
        Assert.Equal("tx-9", change.TxId);
        Assert.Equal(new DateTimeOffset(2025, 1, 15, 10, 35, 0, 250, TimeSpan.Zero), change.Headers.TimestampValue);
        Assert.Equal("svc", change.Headers.From);
        Assert.Equal("abc", change.Headers.Extra!["x-trace"].GetString());
        Assert.Equal(5, change.Headers.Extra["n"].GetInt32());
    }

    public static TheoryData<string, string?, string> MalformedMessages => new()
    {
        { """[1]""", null, "the message is not a JSON object" },
        { """{"headers":""", null, "is not valid JSON" },
        { """{"headers":{"control":"reset"}} {"headers":{"control":"reset"}}""", null, "is not valid JSON" },
        { """{"type":"t"}""", "headers", "field `headers` is missing" },
        { """{"headers":3}""", "headers", "field `headers` is not a JSON object" },
        { """{"headers":{}}""", "headers", "has neither" },
        { """{"headers":{"operation":"insert","control":"reset"}}""", "headers", "has both" },
        { """{"type":"t","key":"k","value":1,"headers":{"operation":"merge"}}""", "headers.operation", "field `headers.operation` is \"merge\", not one of insert, update, delete, upsert" },
        { """{"type":"t","key":"k","value":1,"headers":{"operation":1}}""", "headers.operation", "is not a string" },
        { """{"key":"k","value":1,"headers":{"operation":"insert"}}""", "type", "field `type` is missing" },
        { """{"type":"","key":"k","value":1,"headers":{"operation":"insert"}}""", "type", "field `type` is empty" },
        { """{"type":"t","key":5,"value":1,"headers":{"operation":"insert"}}""", "key", "field `key` is not a string" },
        { """{"type":"t","key":"k","headers":{"operation":"update"}}""", "value", "field `value` is missing (required for update)" },
        { """{"type":"t","key":"k","value":1,"headers":{"operation":"insert","txid":""}}""", "headers.txid", "is empty" },
        { """{"type":"t","key":"k","value":1,"headers":{"operation":"insert","timestamp":5}}""", "headers.timestamp", "is not a string" },
        { """{"headers":{"control":"pause"}}""", "headers.control", "field `headers.control` is \"pause\"" },
        { """{"headers":{"control":"reset","offset":1}}""", "headers.offset", "is not a string" },
        { """{"headers":{"control":"reset","offset":""}}""", "headers.offset", "is empty" },
    };

    [Theory]
    [MemberData(nameof(MalformedMessages))]
    public void Malformed_messages_are_refused_naming_the_field(string json, string? field, string expected)
    {
        var e = Assert.Throws<MalformedStateEventException>(() => StateEvents.Parse(Utf8(json), StateTestJson.Default.JsonElement));
        Assert.Equal(field, e.Field);
        Assert.Equal(DurableStreamErrorCode.ParseError, e.Code);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);

        // Applying it is refused the same way and changes nothing.
        var state = new MaterializedState();
        var applied = Assert.Throws<MalformedStateEventException>(() => state.ApplyMessage(Utf8(json)));
        Assert.Equal(field, applied.Field);
        Assert.Equal(0, state.Count);
    }

    [Fact]
    public void A_value_that_does_not_fit_the_type_is_a_malformed_value()
    {
        var e = Assert.Throws<MalformedStateEventException>(() => StateEvents.Parse(Utf8("""{"type":"n","key":"k","value":"text","headers":{"operation":"insert"}}"""), StateTestJson.Default.Int32));
        Assert.Equal("value", e.Field);
        Assert.IsAssignableFrom<JsonException>(e.InnerException);
    }

    public static TheoryData<Func<byte[]>, string> InvalidWrites => new()
    {
        { () => StateEvents.Serialize(ChangeEvent.Insert("t", "k", 1).WithTimestamp("noon"), StateTestJson.Default.Int32), "headers.timestamp" },
        { () => StateEvents.Serialize(ChangeEvent.Insert("", "k", 1), StateTestJson.Default.Int32), "type" },
        { () => StateEvents.Serialize(ChangeEvent.Insert("t", "", 1), StateTestJson.Default.Int32), "key" },
        { () => StateEvents.Serialize(ChangeEvent.Insert("t", "k", 1).WithTxId(""), StateTestJson.Default.Int32), "headers.txid" },
        { () => StateEvents.Serialize(ChangeEvent.Insert("t", "k", 1).WithHeader("operation", "x"), StateTestJson.Default.Int32), "headers" },
        { () => StateEvents.Serialize(ChangeEvent.Insert("t", "k", 1).WithHeader("control", "reset"), StateTestJson.Default.Int32), "headers" },
        { () => StateEvents.Serialize(new ChangeEvent<int>(StateOperation.Upsert, "t", "k"), StateTestJson.Default.Int32), "value" },
        { () => StateEvents.Serialize(ControlEvent.Reset(string.Empty)), "headers.offset" },
    };

    [Theory]
    [MemberData(nameof(InvalidWrites))]
    public void Writers_refuse_events_the_protocol_forbids_naming_the_field(Func<byte[]> write, string field)
    {
        var e = Assert.Throws<ArgumentException>(() => write());
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void Timestamps_are_written_like_javascripts_toISOString_and_checked_as_rfc3339()
    {
        var change = ChangeEvent.Delete("t", "k").WithTimestamp(new DateTimeOffset(2025, 1, 15, 12, 30, 0, 250, TimeSpan.FromHours(2)));
        Assert.Equal("2025-01-15T10:30:00.250Z", change.Headers.Timestamp);
        foreach (var good in new[] { "2025-01-15T10:30:00Z", "2025-01-15t10:30:00.123456z", "2025-01-15T10:30:00+05:30", "2016-12-31T23:59:60-00:00" })
        {
            StateEvents.Serialize(ChangeEvent.Delete("t", "k").WithTimestamp(good), StateTestJson.Default.JsonElement);
        }
        foreach (var bad in new[] { "", "2025-01-15", "2025-01-15 10:30:00Z", "2025-13-15T10:30:00Z", "2025-01-15T24:00:00Z", "2025-01-15T10:30:00", "2025-01-15T10:30:00.Z", "2025-01-15T10:30:00+0530", "2025-01-15T10:30:00Zjunk" })
        {
            Assert.Throws<ArgumentException>(() => StateEvents.Serialize(ChangeEvent.Delete("t", "k").WithTimestamp(bad), StateTestJson.Default.JsonElement));
        }
    }

    [Fact]
    public void Checkpoints_round_trip_through_their_saved_form_and_corrupt_ones_are_refused()
    {
        var checkpoints = new[]
        {
            StateCheckpoint.Beginning,
            new StateCheckpoint(new StreamCheckpoint(new Offset("0000_0042"))),
            new StateCheckpoint(new StreamCheckpoint(new Offset("0000_0042"), "c1"), 7),
            new StateCheckpoint(new StreamCheckpoint(Offset.Beginning), 3),
        };
        foreach (var checkpoint in checkpoints)
        {
            Assert.Equal(checkpoint, StateCheckpoint.Parse(checkpoint.ToString()));
            var json = JsonSerializer.Serialize(checkpoint, StateCheckpointJson.Default.StateCheckpoint);
            Assert.Equal(checkpoint, JsonSerializer.Deserialize(json, StateCheckpointJson.Default.StateCheckpoint));
        }
        Assert.Equal("-1", StateCheckpoint.Beginning.ToString());
        Assert.Equal("-1&messages=3", checkpoints[3].ToString());
        Assert.Equal("0000_0042&messages=7,c1", checkpoints[2].ToString());
        foreach (var bad in new[] { "", "1_2&messages=x", "1_2&messages=-1", "a/b&messages=2", ",3" })
        {
            Assert.Throws<FormatException>(() => StateCheckpoint.Parse(bad));
        }
    }

    [Fact]
    public void Applying_follows_the_npm_rules_for_every_operation_snapshot_and_reset()
    {
        var state = new MaterializedState();
        var users = state.Collection("user", StateTestJson.Default.StateUser);
        var changes = new List<StateChange<StateUser>>();
        users.Changed += (_, change) => changes.Add(change);
        var controls = new List<ControlKind>();
        state.ControlApplied += (_, e) => controls.Add(e.Control.Kind);

        state.ApplyMessage(Utf8("""{"type":"user","key":"1","value":{"name":"Alice"},"headers":{"operation":"update"}}"""));
        state.ApplyMessage(Utf8("""{"type":"user","key":"1","value":{"name":"Alice Smith"},"headers":{"operation":"insert","txid":"t"}}"""));
        state.ApplyMessage(Utf8("""{"type":"config","key":"theme","value":"dark","headers":{"operation":"upsert"}}"""));
        state.ApplyMessage(Utf8("""{"type":"user","key":"ghost","headers":{"operation":"delete"}}"""));
        Assert.Equal("Alice Smith", users.Get("1")!.Name);
        Assert.Equal(2, state.Count);
        Assert.True(state.TryGetCollection("config", out var config));
        Assert.Equal("dark", ((StateCollection<JsonElement>)config!)["theme"].GetString());

        Assert.Equal(3, changes.Count);
        Assert.False(changes[0].HadPrevious);
        Assert.True(changes[1].HadPrevious);
        Assert.Equal("Alice", changes[1].Previous!.Name);
        Assert.Equal("t", changes[1].Headers.TxId);
        Assert.Equal(StateOperation.Delete, changes[2].Operation);
        Assert.False(changes[2].HadPrevious);

        state.ApplyMessage(Utf8("""{"headers":{"control":"snapshot-start"}}"""));
        Assert.True(state.InSnapshot);
        state.ApplyMessage(Utf8("""{"type":"user","key":"2","value":{"name":"Bob"},"headers":{"operation":"insert"}}"""));
        state.ApplyMessage(Utf8("""{"headers":{"control":"snapshot-end"}}"""));
        Assert.False(state.InSnapshot);
        Assert.Equal(3, state.Count); // snapshot markers change no entity
        state.ApplyMessage(Utf8("""{"headers":{"control":"snapshot-start"}}"""));
        state.ApplyMessage(Utf8("""{"headers":{"control":"reset"}}"""));
        Assert.Equal(0, state.Count);
        Assert.False(state.InSnapshot);
        Assert.Same(users, state.Collection("user", StateTestJson.Default.StateUser)); // registrations survive a reset
        Assert.Equal([ControlKind.SnapshotStart, ControlKind.SnapshotEnd, ControlKind.SnapshotStart, ControlKind.Reset], controls);
    }

    [Fact]
    public void Escaped_and_long_keys_are_the_same_key_however_they_are_written()
    {
        var state = new MaterializedState();
        var numbers = state.Collection("n", StateTestJson.Default.Int32);
        var longKey = new string('k', 300) + "é";
        state.ApplyMessage(Utf8("""{"type":"n","key":"caf\u00e9","value":1,"headers":{"operation":"insert"}}"""));
        state.ApplyMessage(Utf8("""{"type":"n","key":"café","value":2,"headers":{"operation":"update"}}"""));
        state.ApplyMessage(Utf8($$$"""{"type":"n","key":"{{{longKey}}}","value":3,"headers":{"operation":"upsert"}}"""));
        state.ApplyMessage(Utf8($$$"""{"type":"\u006e","key":"{{{longKey}}}","value":4,"headers":{"operation":"upsert"}}"""));
        Assert.Equal(2, numbers["café"]);
        Assert.Equal(4, numbers[longKey]);
        Assert.Equal(2, numbers.Count);
        state.ApplyMessage(Utf8("""{"type":"n","key":"caf\u00e9","headers":{"operation":"delete"}}"""));
        state.ApplyMessage(Utf8($$$"""{"type":"n","key":"{{{longKey}}}","headers":{"operation":"delete"}}"""));
        Assert.Empty(numbers);
    }

    /// <summary>A JSON chunk as a read delivers it: the array text, each message's slice, the checkpoint after it.</summary>
    private static ByteChunk Chunk(string offset, bool upToDate, params string[] messages)
    {
        var data = Utf8("[" + string.Join(",", messages) + "]");
        var slices = new List<ReadOnlyMemory<byte>>();
        var at = 1;
        foreach (var message in messages)
        {
            var length = Encoding.UTF8.GetByteCount(message);
            slices.Add(data.AsMemory(at, length));
            at += length + 1;
        }
        return new ByteChunk(data, new StreamCheckpoint(new Offset(offset)), upToDate) { Messages = slices };
    }

    private static string Upsert(string key, int value) => $$$"""{"type":"n","key":"{{{key}}}","value":{{{value}}},"headers":{"operation":"upsert"}}""";

    [Fact]
    public void A_checkpoint_inside_a_response_skips_exactly_the_applied_messages_even_across_chunks()
    {
        // Saved after 3 messages from offset 10; the server now answers that offset in other pieces.
        var state = new MaterializedState(new StateCheckpoint(new StreamCheckpoint(new Offset("10")), 3));
        var numbers = state.Collection("n", StateTestJson.Default.Int32);
        Assert.Equal(0, state.Apply(Chunk("20", false, Upsert("a", 1), Upsert("b", 2))));
        Assert.Equal(new StateCheckpoint(new StreamCheckpoint(new Offset("20")), 1), state.Checkpoint);
        var after = new List<StateCheckpoint>();
        numbers.Changed += (_, change) => after.Add(change.Checkpoint);
        Assert.Equal(2, state.Apply(Chunk("30", true, Upsert("c", 3), Upsert("d", 4), Upsert("e", 5))));
        Assert.Equal(["d", "e"], numbers.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([new StateCheckpoint(new StreamCheckpoint(new Offset("20")), 2), new StateCheckpoint(new StreamCheckpoint(new Offset("30")))], after);
        Assert.Equal(new StateCheckpoint(new StreamCheckpoint(new Offset("30"))), state.Checkpoint);

        // A checkpoint counting more messages than the stream has is refused once the tail is reached.
        var past = new MaterializedState(new StateCheckpoint(new StreamCheckpoint(new Offset("10")), 9));
        var e = Assert.Throws<DurableStreamException>(() => past.Apply(Chunk("20", true, Upsert("a", 1))));
        Assert.Equal(DurableStreamErrorCode.InvalidOffset, e.Code);
    }

    [Fact]
    public void A_chunk_of_another_content_type_is_refused()
    {
        var text = new ByteChunk(Utf8("plain text"), new StreamCheckpoint(new Offset("1")), true);
        Assert.Contains("application/json", Assert.Throws<InvalidOperationException>(() => new MaterializedState().Apply(text, "http://example/s")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_type_met_untyped_cannot_be_registered_with_another_value_type()
    {
        var state = new MaterializedState();
        state.ApplyMessage(Utf8("""{"type":"user","key":"1","value":{"name":"A"},"headers":{"operation":"insert"}}"""));
        var e = Assert.Throws<InvalidOperationException>(() => state.Collection("user", StateTestJson.Default.StateUser));
        Assert.Contains("register collections before applying", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupted_save_is_refused_naming_the_field()
    {
        Assert.Contains("checkpoint", Assert.Throws<FormatException>(() => new MaterializedState().Restore(Utf8("""{"checkpoint":"a/b","entities":{}}"""))).Message, StringComparison.Ordinal);
        Assert.Contains("checkpoint", Assert.Throws<FormatException>(() => new MaterializedState().Restore(Utf8("""{"entities":{}}"""))).Message, StringComparison.Ordinal);
        Assert.Contains("entities.user", Assert.Throws<FormatException>(() => new MaterializedState().Restore(Utf8("""{"checkpoint":"-1","entities":{"user":3}}"""))).Message, StringComparison.Ordinal);
        var state = new MaterializedState();
        state.Collection("n", StateTestJson.Default.Int32);
        Assert.Contains("entities.n.k", Assert.Throws<FormatException>(() => state.Restore(Utf8("""{"checkpoint":"-1","entities":{"n":{"k":"text"}}}"""))).Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => new MaterializedState().Restore(Utf8("""{"checkpoint":""")));
    }

    private static bool JsonNode_DeepEquals(string a, string b) =>
        System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(a), System.Text.Json.Nodes.JsonNode.Parse(b));
}

[JsonSerializable(typeof(StateCheckpoint))]
internal sealed partial class StateCheckpointJson : JsonSerializerContext;
