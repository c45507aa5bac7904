using System.Text.Json.Serialization;

namespace StreamDingo.Tests.Versioned;

public sealed record Tally(long Total, long Count);

public sealed record Incremented(long By) : IEvent;

[JsonSerializable(typeof(Tally))]
[JsonSerializable(typeof(Incremented))]
public sealed partial class TallyJson : JsonSerializerContext;
