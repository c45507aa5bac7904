using System.Globalization;
using System.Reflection;
using System.Text;

namespace DurableStreams.PackageTests;

/// <summary>
/// Checks by reflection that the packed DurableStreams assembly has every public member of the
/// official client (official-dotnet-api.txt), so that code written for that client compiles unchanged.
/// The compile-time counterpart is OfficialSurfaceUsage.cs.
/// </summary>
public class OfficialSurfaceTests
{
    private static string ListPath => Path.Combine(AppContext.BaseDirectory, "official-dotnet-api.txt");

    [Fact]
    public void The_package_has_every_member_of_the_official_client()
    {
        var lines = OfficialApi.Load(ListPath);
        // A truncated or empty copy of the list would make the check pass vacuously.
        Assert.True(lines.Count >= 250, $"only {lines.Count} member lines in {ListPath}");

        var assembly = typeof(DurableStreamClient).Assembly;
        var mismatches = OfficialApi.Check(lines, name => assembly.GetType("DurableStreams." + OfficialApi.MetadataName(name)), OfficialApi.SixtyFourBitMembers);

        if (mismatches.Count > 0)
        {
            // One message with every difference, so that a failure is the whole to-do list.
            Assert.Fail($"The package differs from the official client's public surface in {mismatches.Count} places:"
                + Environment.NewLine + string.Join(Environment.NewLine, mismatches.Select(m => "  - " + m)));
        }
    }

    [Fact]
    public void The_list_parses_and_its_keys_agree_with_its_signatures()
    {
        var lines = OfficialApi.Load(ListPath);
        var valueTypes = OfficialApi.ValueTypeNames(lines);
        var problems = new List<string>();
        foreach (var line in lines)
        {
            var member = OfficialApi.ParseMember(line, valueTypes);
            if (member.Kind is MemberKind.Constructor or MemberKind.Method)
            {
                // The key spells the parameter types without reference-type '?', the signature with
                // it: both must denote the same CLR types, or the parser misreads one of them.
                var fromKey = string.Join(",", member.KeyParameterTypes);
                var fromSignature = string.Join(",", member.Parameters.Select(p => p.Type));
                if (fromKey != fromSignature)
                {
                    problems.Add($"{line.Type} {line.Key}: key ({fromKey}) != signature ({fromSignature})");
                }
            }
        }
        Assert.Empty(problems);
        Assert.Contains("Offset", valueTypes);
        Assert.Contains("CreateStreamResult", valueTypes);
        Assert.DoesNotContain("DurableStream", valueTypes);
    }

    [Fact]
    public void Type_notation_of_the_list_matches_clr_types()
    {
        // A struct of this test stands in for the list's structs (e.g. Offset), so that this test
        // does not depend on the shape of the package.
        var valueTypes = OfficialApi.ValueTypeNames([]);
        valueTypes.Add("SampleResult");
        void Same(Type type, string notation) =>
            Assert.Equal(OfficialApi.Canonical(type), OfficialApi.CanonicalOf(notation, valueTypes));

        Same(typeof(Dictionary<string, Func<CancellationToken, ValueTask<string>>>), "Dictionary<String, Func<CancellationToken, ValueTask<String>>>?");
        Same(typeof(ValueTuple<int, int>), "ValueTuple<Int32, Int32>");
        Same(typeof(byte[]), "Byte[]?");
        Same(typeof(int?), "Int32?");
        Same(typeof(int?).MakeByRefType(), "Int32?&");
        Same(typeof(string).MakeByRefType(), "String&");
        Same(typeof(HttpClient), "Net.Http.HttpClient");
        Same(typeof(Task<List<string>>), "Task<List<String?>>");
        Same(typeof(List<>).GetGenericArguments()[0], "T?");
        Same(typeof(SurfaceSamples.SampleResult?), "SampleResult?");
        Same(typeof(SurfaceSamples.SampleResult?).MakeByRefType(), "SampleResult?&");
        Same(typeof(IEquatable<SurfaceSamples.SampleBatch<string>>), "IEquatable<SampleBatch<String?>>");
        Assert.Equal("Nullable<SampleResult>&", OfficialApi.CanonicalOf("SampleResult?&", valueTypes));
        Assert.Equal("Dictionary<String,String>", OfficialApi.CanonicalOf("Dictionary<String, String>?", valueTypes));
        Assert.Equal("JsonBatch`1", OfficialApi.MetadataName("JsonBatch<T>"));
        Assert.Equal("Offset", OfficialApi.MetadataName("Offset"));
    }

    [Fact]
    public void The_checker_accepts_a_matching_surface_and_reports_each_difference()
    {
        static ApiLine L(string type, string key, string signature) => new(type, key, signature);
        Type? Resolve(string name) => typeof(SurfaceSamples).GetNestedType(OfficialApi.MetadataName(name));
        var widened = new HashSet<(string, string)> { ("SampleOptions", "Epoch"), ("SampleOptions", ".ctor(Int32)") };

        ApiLine[] matching =
        [
            L("SampleResult", "(type)", "readonly struct SampleResult : IEquatable<SampleResult>"),
            L("SampleResult", ".ctor(Int32?,Boolean)", "SampleResult(Int32? Next, Boolean Duplicate = False)"),
            L("SampleResult", "Deconstruct(Int32?&,Boolean&)", "Void Deconstruct(Int32?& Next, Boolean& Duplicate)"),
            L("SampleResult", "Next", "Int32? Next { get; init; }"),
            L("SampleResult", "Equals(Object)", "override Boolean Equals(Object obj)"),
            L("SampleResult", "op_Equality(SampleResult,SampleResult)", "static Boolean op_Equality(SampleResult left, SampleResult right)"),
            L("SampleBatch<T>", "(type)", "readonly struct SampleBatch<T> : IEquatable<SampleBatch<T>>"),
            L("SampleBatch<T>", "Items", "IReadOnlyList<T?> Items { get; init; }"),
            L("SampleOptions", "(type)", "class SampleOptions"),
            L("SampleOptions", ".ctor(Int32)", "SampleOptions(Int32 epoch)"),
            L("SampleOptions", "Epoch", "Int32 Epoch { get; set; }"),
            L("SampleOptions", "Headers", "Dictionary<String, String>? Headers { get; set; }"),
            L("SampleOptions", "Only", "String? Only { set; }"),
            L("SampleOptions", "Default", "static readonly SampleOptions Default"),
            L("SampleOptions", "Run<T>(T,CancellationToken)", "Task<List<T?>> Run<T>(T? value, CancellationToken cancellationToken = null)"),
            L("SampleOptions", "Changed(event)", "event EventHandler<EventArgs>? Changed"),
            L("SampleMode", "(type)", "enum SampleMode : IComparable, IConvertible, IFormattable, ISpanFormattable"),
            L("SampleMode", "On", "On = 2"),
        ];
        Assert.Empty(OfficialApi.Check(matching, Resolve, widened));

        ApiLine[] differing =
        [
            L("SampleOptions", "(type)", "readonly struct SampleOptions : IDisposable"), // kind and interface
            L("SampleOptions", "Count", "Int32 Count { get; set; }"), // Int64, not in the deviation table
            L("SampleOptions", "Init", "Int32 Init { get; set; }"), // init-only, so no plain setter
            L("SampleOptions", "Missing", "Int32 Missing { get; }"),
            L("SampleOptions", "Run<T>(T,CancellationToken)", "Task<List<T?>> Run<T>(T? value, CancellationToken token = null)"), // name
            L("SampleOptions", "Run<T>(T)", "Task<List<T?>> Run<T>(T? value)"), // no such overload
            L("SampleMode", "On", "On = 1"), // value
            L("SampleMode", "Off", "Off = 0"), // missing
            L("Absent", "(type)", "class Absent"),
            L("Absent", ".ctor()", "Absent()"),
        ];
        var mismatches = OfficialApi.Check(differing, Resolve, widened);
        Assert.Equal(10, mismatches.Count);
        Assert.Contains(mismatches, m => m.StartsWith("SampleOptions (type): is not a value type", StringComparison.Ordinal));
        Assert.Contains(mismatches, m => m.StartsWith("SampleOptions (type): does not implement or derive from IDisposable", StringComparison.Ordinal));
        Assert.Contains(mismatches, m => m.StartsWith("Absent (type): missing", StringComparison.Ordinal));
    }

    /// <summary>Small types with known shapes, to check the checker itself.</summary>
    public static class SurfaceSamples
    {
        public readonly record struct SampleResult(int? Next, bool Duplicate = false);

        public readonly record struct SampleBatch<T>(IReadOnlyList<T?> Items);

        public class SampleOptions
        {
            public SampleOptions(long epoch) => Epoch = epoch;

            public static readonly SampleOptions Default = new(0);

            public event EventHandler<EventArgs>? Changed;

            public long Epoch { get; set; }

            public long Count { get; set; }

            public int Init { get; init; }

            public Dictionary<string, string>? Headers { get; set; }

#pragma warning disable CA1044 // A write-only property on purpose: the official list has one (StreamOptions.Checkpoint).
            public string? Only { set => Headers = value is null ? null : new Dictionary<string, string> { ["only"] = value }; }
#pragma warning restore CA1044

            public Task<List<T?>> Run<T>(T? value, CancellationToken cancellationToken = default)
            {
                Changed?.Invoke(this, EventArgs.Empty);
                return Task.FromResult(new List<T?> { value });
            }
        }

        public enum SampleMode
        {
            On = 2,
        }
    }
}

/// <summary>One line of official-dotnet-api.txt: type, member key, C#-like signature.</summary>
internal sealed record ApiLine(string Type, string Key, string Signature);

internal enum MemberKind
{
    Type,
    Constructor,
    Method,
    Property,
    Field,
    Event,
    EnumMember,
}

internal sealed record ApiParameter(string Type, string Name, bool Optional);

/// <summary>A parsed line. Types are canonical strings (see <see cref="OfficialApi.Canonical(Type)"/>).</summary>
internal sealed record ApiMember(
    MemberKind Kind,
    string Name,
    int GenericArity,
    IReadOnlyList<string> KeyParameterTypes,
    IReadOnlyList<ApiParameter> Parameters,
    string? Type,
    IReadOnlySet<string> Modifiers,
    IReadOnlySet<string> Accessors,
    long? EnumValue,
    string TypeKind,
    IReadOnlyList<string> Bases);

/// <summary>Parser of the list's notation and the reflection check against an assembly.</summary>
internal static class OfficialApi
{
    /// <summary>
    /// The package's documented deviation: epochs and sequence numbers are 64-bit where the official
    /// client has Int32. For exactly these members an Int32 of the list may be an Int64.
    /// </summary>
    internal static readonly IReadOnlySet<(string Type, string Key)> SixtyFourBitMembers = new HashSet<(string, string)>
    {
        ("IdempotentProducer", "Epoch"),
        ("IdempotentProducer", "NextSeq"),
        ("IdempotentProducerOptions", "Epoch"),
        ("ProducerErrorEventArgs", "Epoch"),
        ("ProducerErrorEventArgs", "SequenceRange"),
        ("StaleEpochException", "CurrentEpoch"),
        ("StaleEpochException", ".ctor(Int32,String)"),
        ("SequenceGapException", "ExpectedSeq"),
        ("SequenceGapException", "ReceivedSeq"),
        ("SequenceGapException", ".ctor(Int32,Int32,String)"),
    };

    // BCL value types the list uses: their '?' means Nullable<T>; a reference type's '?' is only an annotation.
    private static readonly string[] BclValueTypes =
    [
        "Boolean", "Byte", "SByte", "Char", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Single", "Double", "Decimal",
        "TimeSpan", "DateTime", "DateTimeOffset", "Guid", "CancellationToken", "ReadOnlyMemory", "Memory", "ValueTuple", "ValueTask", "Nullable",
    ];

    private static readonly HashSet<string> ModifierWords = new(StringComparer.Ordinal)
    {
        "static", "override", "required", "readonly", "virtual", "abstract", "sealed", "event", "new", "const", "public",
    };

    private const BindingFlags AllPublic = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static;

    internal static List<ApiLine> Load(string path)
    {
        var lines = new List<ApiLine>();
        foreach (var raw in File.ReadAllLines(path))
        {
            if (raw.Length == 0 || raw.StartsWith('#'))
            {
                continue;
            }
            var parts = raw.Split('\t');
            if (parts.Length != 3)
            {
                throw new FormatException($"expected 3 tab-separated fields: {raw}");
            }
            lines.Add(new ApiLine(parts[0], parts[1], parts[2]));
        }
        return lines;
    }

    /// <summary>`JsonBatch&lt;T&gt;` is JsonBatch`1 in metadata.</summary>
    internal static string MetadataName(string listName)
    {
        var open = listName.IndexOf('<', StringComparison.Ordinal);
        return open < 0 ? listName : $"{listName[..open]}`{SplitTopLevel(listName[(open + 1)..^1], ',').Count}";
    }

    /// <summary>Names of the list's structs and enums plus the BCL value types.</summary>
    internal static HashSet<string> ValueTypeNames(IEnumerable<ApiLine> lines)
    {
        var names = new HashSet<string>(BclValueTypes, StringComparer.Ordinal);
        foreach (var line in lines.Where(l => l.Key == "(type)"))
        {
            var head = SplitTopLevel(line.Signature.Split(" : ")[0], ' ');
            if (head.Contains("struct") || head.Contains("enum"))
            {
                names.Add(StripGenerics(line.Type));
            }
        }
        return names;
    }

    /// <summary>
    /// A CLR type as a comparable string: simple names without namespaces (the list writes some
    /// relative to System, e.g. Net.Http.HttpClient), generic arguments in angle brackets,
    /// Nullable&lt;X&gt; for a nullable value type, [] for arrays, &amp; for by-ref, generic parameters by name.
    /// </summary>
    internal static string Canonical(Type type)
    {
        if (type.IsByRef)
        {
            return Canonical(type.GetElementType()!) + "&";
        }
        if (type.IsArray)
        {
            return Canonical(type.GetElementType()!) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        }
        if (type.IsGenericParameter)
        {
            return type.Name;
        }
        var name = StripArity(type.Name);
        return type.IsGenericType ? $"{name}<{string.Join(",", type.GetGenericArguments().Select(Canonical))}>" : name;
    }

    /// <summary>The list's notation of a type (e.g. `Dictionary&lt;String, String&gt;?`, `Offset?&amp;`) as a canonical string.</summary>
    internal static string CanonicalOf(string notation, IReadOnlySet<string> valueTypes)
    {
        var position = 0;
        var canonical = ParseType(notation.Trim(), ref position, valueTypes, out _);
        if (position != notation.Trim().Length)
        {
            throw new FormatException($"unexpected '{notation.Trim()[position..]}' in type '{notation}'");
        }
        return canonical;
    }

    // type := name ['<' type {',' type} '>'] {'[]' | '?' | '&'}
    private static string ParseType(string text, ref int position, IReadOnlySet<string> valueTypes, out bool isValueType)
    {
        SkipSpaces(text, ref position);
        var start = position;
        while (position < text.Length && (char.IsLetterOrDigit(text[position]) || text[position] is '.' or '_' or '`'))
        {
            position++;
        }
        if (position == start)
        {
            throw new FormatException($"expected a type name at {position} in '{text}'");
        }
        var name = StripArity(text[start..position]);
        name = name[(name.LastIndexOf('.') + 1)..];
        var canonical = name;
        if (position < text.Length && text[position] == '<')
        {
            position++;
            var arguments = new List<string>();
            while (true)
            {
                arguments.Add(ParseType(text, ref position, valueTypes, out _));
                SkipSpaces(text, ref position);
                if (position >= text.Length)
                {
                    throw new FormatException($"unclosed '<' in '{text}'");
                }
                if (text[position++] == '>')
                {
                    break;
                }
                if (text[position - 1] != ',')
                {
                    throw new FormatException($"expected ',' or '>' at {position - 1} in '{text}'");
                }
            }
            canonical = $"{name}<{string.Join(",", arguments)}>";
        }
        isValueType = valueTypes.Contains(name);
        while (position < text.Length)
        {
            if (text[position] == '?')
            {
                // Nullable<T> for a value type; for a reference type (or an unconstrained T) an annotation only.
                if (isValueType)
                {
                    canonical = $"Nullable<{canonical}>";
                }
                position++;
            }
            else if (text[position] == '&')
            {
                canonical += "&";
                isValueType = false;
                position++;
            }
            else if (position + 1 < text.Length && text[position] == '[' && text[position + 1] == ']')
            {
                canonical += "[]";
                isValueType = false;
                position += 2;
            }
            else
            {
                break;
            }
        }
        return canonical;
    }

    internal static ApiMember ParseMember(ApiLine line, IReadOnlySet<string> valueTypes)
    {
        var noSet = new HashSet<string>();
        string Canon(string notation) => CanonicalOf(notation, valueTypes);

        if (line.Key == "(type)")
        {
            var colon = line.Signature.IndexOf(" : ", StringComparison.Ordinal);
            var head = SplitTopLevel(colon < 0 ? line.Signature : line.Signature[..colon], ' ');
            var bases = colon < 0 ? new List<string>() : SplitTopLevel(line.Signature[(colon + 3)..], ',').Select(Canon).ToList();
            if (head[^1] != line.Type)
            {
                throw new FormatException($"type line names {head[^1]}, not {line.Type}: {line.Signature}");
            }
            return new ApiMember(MemberKind.Type, line.Type, 0, [], [], null, noSet, noSet, null, string.Join(" ", head.Take(head.Count - 1)), bases);
        }

        if (line.Key.EndsWith("(event)", StringComparison.Ordinal))
        {
            var tokens = SplitTopLevel(line.Signature, ' ');
            var modifiers = tokens.Where(ModifierWords.Contains).ToHashSet();
            var rest = tokens.Where(t => !ModifierWords.Contains(t)).ToList();
            return new ApiMember(MemberKind.Event, rest[^1], 0, [], [], Canon(rest[0]), modifiers, noSet, null, "", []);
        }

        var keyOpen = line.Key.IndexOf('(', StringComparison.Ordinal);
        if (keyOpen >= 0)
        {
            var keyName = line.Key[..keyOpen];
            var arity = keyName.Contains('<', StringComparison.Ordinal) ? SplitTopLevel(keyName[(keyName.IndexOf('<', StringComparison.Ordinal) + 1)..^1], ',').Count : 0;
            var name = StripGenerics(keyName);
            var keyParameters = SplitTopLevel(line.Key[(keyOpen + 1)..line.Key.LastIndexOf(')')], ',').Select(Canon).ToList();

            var open = line.Signature.IndexOf('(', StringComparison.Ordinal);
            var prefix = SplitTopLevel(line.Signature[..open], ' ');
            var modifiers = prefix.Where(ModifierWords.Contains).ToHashSet();
            var typeTokens = prefix.Where(t => !ModifierWords.Contains(t)).ToList();
            var parameters = SplitTopLevel(line.Signature[(open + 1)..line.Signature.LastIndexOf(')')], ',').Select(p => ParseParameter(p, valueTypes)).ToList();
            var isConstructor = name == ".ctor";
            // A constructor's signature is `Name(...)`; a method's `[modifiers] ReturnType Name(...)`.
            var returnType = isConstructor ? null : Canon(string.Join(" ", typeTokens.Take(typeTokens.Count - 1)));
            return new ApiMember(isConstructor ? MemberKind.Constructor : MemberKind.Method, name, arity, keyParameters, parameters, returnType, modifiers, noSet, null, "", []);
        }

        var brace = line.Signature.IndexOf('{', StringComparison.Ordinal);
        if (brace >= 0)
        {
            var tokens = SplitTopLevel(line.Signature[..brace], ' ');
            var modifiers = tokens.Where(ModifierWords.Contains).ToHashSet();
            var rest = tokens.Where(t => !ModifierWords.Contains(t)).ToList();
            var accessors = line.Signature[(brace + 1)..line.Signature.LastIndexOf('}')]
                .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
            return new ApiMember(MemberKind.Property, rest[^1], 0, [], [], Canon(string.Join(" ", rest.Take(rest.Count - 1))), modifiers, accessors, null, "", []);
        }

        var equals = line.Signature.IndexOf(" = ", StringComparison.Ordinal);
        if (equals >= 0)
        {
            var value = long.Parse(line.Signature[(equals + 3)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            return new ApiMember(MemberKind.EnumMember, line.Signature[..equals].Trim(), 0, [], [], null, noSet, noSet, value, "", []);
        }

        {
            var tokens = SplitTopLevel(line.Signature, ' ');
            var modifiers = tokens.Where(ModifierWords.Contains).ToHashSet();
            var rest = tokens.Where(t => !ModifierWords.Contains(t)).ToList();
            return new ApiMember(MemberKind.Field, rest[^1], 0, [], [], Canon(string.Join(" ", rest.Take(rest.Count - 1))), modifiers, noSet, null, "", []);
        }
    }

    // `[EnumeratorCancellation] CancellationToken cancellationToken = null`
    private static ApiParameter ParseParameter(string text, IReadOnlySet<string> valueTypes)
    {
        text = text.Trim();
        while (text.StartsWith('['))
        {
            text = text[(text.IndexOf(']', StringComparison.Ordinal) + 1)..].TrimStart();
        }
        var equals = text.IndexOf(" = ", StringComparison.Ordinal);
        var optional = equals >= 0;
        if (optional)
        {
            text = text[..equals];
        }
        var tokens = SplitTopLevel(text, ' ').Where(t => t is not ("params" or "this")).ToList();
        return new ApiParameter(CanonicalOf(string.Join(" ", tokens.Take(tokens.Count - 1)), valueTypes), tokens[^1], optional);
    }

    /// <summary>Checks every line; returns one human-readable line per difference.</summary>
    internal static List<string> Check(IReadOnlyCollection<ApiLine> lines, Func<string, Type?> resolve, IReadOnlySet<(string Type, string Key)> widened)
    {
        var valueTypes = ValueTypeNames(lines);
        var mismatches = new List<string>();
        foreach (var group in lines.GroupBy(l => l.Type))
        {
            var type = resolve(group.Key);
            if (type is null || !(type.IsPublic || type.IsNestedPublic))
            {
                mismatches.Add($"{group.Key} (type): missing from the package ({group.Count()} lines not checked)");
                continue;
            }
            foreach (var line in group)
            {
                ApiMember member;
                try
                {
                    member = ParseMember(line, valueTypes);
                }
                catch (FormatException e)
                {
                    mismatches.Add($"{line.Type} {line.Key}: cannot parse the line: {e.Message}");
                    continue;
                }
                var problems = new List<string>();
                var widen = widened.Contains((line.Type, line.Key));
                CheckMember(type, member, widen, problems);
                mismatches.AddRange(problems.Select(p => $"{line.Type} {line.Key}: {p}"));
            }
        }
        return mismatches;
    }

    private static bool SameType(string expected, string actual, bool widen) =>
        expected == actual || (widen && expected.Replace("Int32", "Int64", StringComparison.Ordinal) == actual);

    private static void CheckMember(Type type, ApiMember member, bool widen, List<string> problems)
    {
        switch (member.Kind)
        {
            case MemberKind.Type:
                CheckType(type, member, problems);
                break;
            case MemberKind.Constructor:
            {
                var ctor = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
                    .FirstOrDefault(c => SameParameters(member.KeyParameterTypes, c.GetParameters(), widen));
                if (ctor is null)
                {
                    problems.Add($"missing constructor; has {Describe(type.GetConstructors(BindingFlags.Public | BindingFlags.Instance))}");
                }
                else
                {
                    CheckParameterNames(member, ctor.GetParameters(), problems);
                }
                break;
            }
            case MemberKind.Method:
                CheckMethod(type, member, widen, problems);
                break;
            case MemberKind.Property:
                CheckProperty(type, member, widen, problems);
                break;
            case MemberKind.Field:
            {
                // A static readonly field of the list may be a static get-only property here (same usage).
                var field = type.GetField(member.Name, AllPublic);
                var getter = field is null ? FindProperty(type, member.Name)?.GetMethod : null;
                var actualType = field?.FieldType ?? (getter is { IsPublic: true } ? getter.ReturnType : null);
                var isStatic = field?.IsStatic ?? getter?.IsStatic ?? false;
                if (actualType is null)
                {
                    problems.Add("missing field (or get-only property)");
                }
                else
                {
                    CheckTypeOf("type", member.Type!, actualType, widen, problems);
                    if (member.Modifiers.Contains("static") != isStatic)
                    {
                        problems.Add(member.Modifiers.Contains("static") ? "is not static" : "is static");
                    }
                }
                break;
            }
            case MemberKind.Event:
            {
                var @event = type.GetEvent(member.Name, AllPublic);
                if (@event is null)
                {
                    problems.Add("missing event");
                }
                else
                {
                    CheckTypeOf("handler type", member.Type!, @event.EventHandlerType!, widen, problems);
                }
                break;
            }
            case MemberKind.EnumMember:
            {
                var field = type.IsEnum ? type.GetField(member.Name, BindingFlags.Public | BindingFlags.Static) : null;
                if (field is null)
                {
                    problems.Add("missing enum member");
                }
                else
                {
                    var value = Convert.ToInt64(field.GetRawConstantValue(), CultureInfo.InvariantCulture);
                    if (value != member.EnumValue)
                    {
                        problems.Add($"value is {value}, expected {member.EnumValue}");
                    }
                }
                break;
            }
        }
    }

    private static void CheckType(Type type, ApiMember member, List<string> problems)
    {
        var kind = member.TypeKind.Split(' ');
        if (kind.Contains("struct"))
        {
            if (!type.IsValueType || type.IsEnum)
            {
                problems.Add($"is not a value type (expected {member.TypeKind}; is {KindOf(type)})");
            }
            else if (kind.Contains("readonly") && !type.CustomAttributes.Any(a => a.AttributeType.FullName == "System.Runtime.CompilerServices.IsReadOnlyAttribute"))
            {
                problems.Add("is a struct but not a readonly struct");
            }
        }
        else if (kind.Contains("enum") && !type.IsEnum)
        {
            problems.Add($"is not an enum (is {KindOf(type)})");
        }
        else if (kind.Contains("class") && !type.IsClass)
        {
            problems.Add($"is not a class (is {KindOf(type)})");
        }
        else if (kind.Contains("interface") && !type.IsInterface)
        {
            problems.Add($"is not an interface (is {KindOf(type)})");
        }

        var interfaces = type.GetInterfaces().Select(Canonical).ToHashSet();
        var baseTypes = new HashSet<string>();
        for (var b = type.BaseType; b is not null; b = b.BaseType)
        {
            baseTypes.Add(Canonical(b));
        }
        foreach (var expected in member.Bases)
        {
            if (!interfaces.Contains(expected) && !baseTypes.Contains(expected))
            {
                problems.Add($"does not implement or derive from {expected}");
            }
        }
    }

    private static string KindOf(Type type) =>
        type.IsEnum ? "an enum" : type.IsValueType ? "a struct" : type.IsInterface ? "an interface" : type.IsSealed ? "a sealed class" : "a class";

    private static void CheckMethod(Type type, ApiMember member, bool widen, List<string> problems)
    {
        var named = type.GetMethods(AllPublic)
            .Where(m => m.Name == member.Name && (m.IsGenericMethodDefinition ? m.GetGenericArguments().Length : 0) == member.GenericArity)
            .ToList();
        var candidates = named.Where(m => SameParameters(member.KeyParameterTypes, m.GetParameters(), widen)).ToList();
        if (candidates.Count == 0)
        {
            problems.Add(named.Count == 0 && !type.GetMethods(AllPublic).Any(m => m.Name == member.Name)
                ? "missing method"
                : $"no overload with these parameters; has {Describe(type.GetMethods(AllPublic).Where(m => m.Name == member.Name))}");
            return;
        }
        // Conversion operators differ only by return type: pick the overload whose return type matches.
        var method = candidates.FirstOrDefault(m => SameType(member.Type!, Canonical(m.ReturnType), widen));
        if (method is null)
        {
            problems.Add($"returns {Canonical(candidates[0].ReturnType)}, expected {member.Type}");
            method = candidates[0];
        }
        if (member.Modifiers.Contains("static") != method.IsStatic)
        {
            problems.Add(method.IsStatic ? "is static" : "is not static");
        }
        if (member.Modifiers.Contains("override") && method.DeclaringType != type)
        {
            problems.Add($"is not overridden (inherited from {method.DeclaringType?.Name})");
        }
        // C# cannot call an operator with named arguments, so only other methods' names matter.
        if (!member.Name.StartsWith("op_", StringComparison.Ordinal))
        {
            CheckParameterNames(member, method.GetParameters(), problems);
        }
    }

    private static void CheckProperty(Type type, ApiMember member, bool widen, List<string> problems)
    {
        var property = FindProperty(type, member.Name);
        if (property is null)
        {
            problems.Add("missing property");
            return;
        }
        CheckTypeOf("type", member.Type!, property.PropertyType, widen, problems);
        var getter = property.GetMethod is { IsPublic: true } g ? g : null;
        var setter = property.SetMethod is { IsPublic: true } s ? s : null;
        var initOnly = setter is not null && setter.ReturnParameter.GetRequiredCustomModifiers()
            .Any(m => m.FullName == "System.Runtime.CompilerServices.IsExternalInit");
        if (member.Accessors.Contains("get") && getter is null)
        {
            problems.Add("has no public getter");
        }
        if (member.Accessors.Contains("set") && (setter is null || initOnly))
        {
            problems.Add(setter is null ? "has no public setter" : "is init-only; expected a setter (assignment after construction)");
        }
        // `init` in the list: a plain setter also compiles in object initializers and with-expressions.
        if (member.Accessors.Contains("init") && setter is null)
        {
            problems.Add("has no public init accessor or setter");
        }
        if ((getter ?? setter) is { } accessor && member.Modifiers.Contains("static") != accessor.IsStatic)
        {
            problems.Add(member.Modifiers.Contains("static") ? "is not static" : "is static");
        }
    }

    private static PropertyInfo? FindProperty(Type type, string name) =>
        type.GetProperties(AllPublic).Where(p => p.Name == name && p.GetIndexParameters().Length == 0)
            .OrderBy(p => p.DeclaringType == type ? 0 : 1) // a `new` property hides the base one
            .FirstOrDefault();

    private static void CheckTypeOf(string what, string expected, Type actual, bool widen, List<string> problems)
    {
        var canonical = Canonical(actual);
        if (!SameType(expected, canonical, widen))
        {
            problems.Add($"{what} is {canonical}, expected {expected}");
        }
    }

    private static bool SameParameters(IReadOnlyList<string> expected, ParameterInfo[] actual, bool widen) =>
        expected.Count == actual.Length && expected.Select((e, i) => SameType(e, Canonical(actual[i].ParameterType), widen)).All(same => same);

    private static void CheckParameterNames(ApiMember member, ParameterInfo[] actual, List<string> problems)
    {
        // Named arguments (cancellationToken: ct) make parameter names part of the source surface.
        for (var i = 0; i < member.Parameters.Count && i < actual.Length; i++)
        {
            var expected = member.Parameters[i];
            if (expected.Name != actual[i].Name)
            {
                problems.Add($"parameter {i + 1} is named '{actual[i].Name}', expected '{expected.Name}'");
            }
            if (expected.Optional && !actual[i].IsOptional)
            {
                problems.Add($"parameter '{expected.Name}' is not optional");
            }
        }
    }

    private static string Describe(IEnumerable<MethodBase> methods)
    {
        var text = string.Join("; ", methods.Select(m =>
            $"{(m is MethodInfo info ? Canonical(info.ReturnType) + " " : "")}{m.Name}({string.Join(", ", m.GetParameters().Select(p => $"{Canonical(p.ParameterType)} {p.Name}{(p.IsOptional ? " = ..." : "")}"))})"));
        return text.Length == 0 ? "none" : text;
    }

    /// <summary>Splits at separators outside angle brackets (and trims, dropping empty parts).</summary>
    private static List<string> SplitTopLevel(string text, char separator)
    {
        var parts = new List<string>();
        var depth = 0;
        var current = new StringBuilder();
        foreach (var c in text)
        {
            depth += c == '<' ? 1 : c == '>' ? -1 : 0;
            if (c == separator && depth == 0)
            {
                Flush();
            }
            else
            {
                current.Append(c);
            }
        }
        Flush();
        return parts;

        void Flush()
        {
            var part = current.ToString().Trim();
            if (part.Length > 0)
            {
                parts.Add(part);
            }
            current.Clear();
        }
    }

    private static void SkipSpaces(string text, ref int position)
    {
        while (position < text.Length && text[position] == ' ')
        {
            position++;
        }
    }

    private static string StripArity(string name)
    {
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        return tick < 0 ? name : name[..tick];
    }

    private static string StripGenerics(string name)
    {
        var open = name.IndexOf('<', StringComparison.Ordinal);
        return open < 0 ? name : name[..open];
    }
}
