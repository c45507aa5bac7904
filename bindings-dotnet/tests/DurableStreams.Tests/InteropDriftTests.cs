using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using DurableStreams.Interop;

namespace DurableStreams.Tests;

/// <summary>
/// Compares the hand-written P/Invoke declarations (<see cref="NativeMethods"/>) with the C header
/// <c>include/durable_streams.h</c>: same set of functions, same parameter counts, compatible types.
/// Fails when either side drifts.
/// </summary>
public partial class InteropDriftTests
{
    private sealed record CFunction(string Name, string ReturnType, IReadOnlyList<string> Parameters);

    [GeneratedRegex(@"^\s*(?<ret>(?:const\s+)?(?:struct\s+|enum\s+)?\w+\s*\**)\s*(?<name>ds_\w+)\s*\((?<params>[^)]*)\)\s*;", RegexOptions.Multiline)]
    private static partial Regex Prototype();

    private static string HeaderPath
    {
        get
        {
            var copied = Path.Combine(AppContext.BaseDirectory, "durable_streams.h");
            return File.Exists(copied) ? copied : Path.Combine(Infrastructure.TestServers.RepoRoot, "include", "durable_streams.h");
        }
    }

    private static Dictionary<string, CFunction> HeaderFunctions()
    {
        var text = File.ReadAllText(HeaderPath);
        // Join multi-line prototypes and drop comments.
        text = Regex.Replace(text, @"//[^\n]*", string.Empty);
        text = Regex.Replace(text, @"/\*.*?\*/", string.Empty, RegexOptions.Singleline);
        text = Regex.Replace(text, @",\s*\n\s*", ", ");
        var functions = new Dictionary<string, CFunction>();
        foreach (Match m in Prototype().Matches(text))
        {
            var parameters = m.Groups["params"].Value.Trim();
            var list = parameters is "" or "void"
                ? []
                : parameters.Split(',').Select(p => p.Trim()).ToList();
            functions[m.Groups["name"].Value] = new CFunction(m.Groups["name"].Value, m.Groups["ret"].Value.Trim(), list);
        }
        return functions;
    }

    private static Dictionary<string, MethodInfo> ManagedFunctions() =>
        typeof(NativeMethods)
            .GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Where(m => m.GetCustomAttribute<LibraryImportAttribute>() is not null)
            .ToDictionary(m => m.GetCustomAttribute<LibraryImportAttribute>()!.EntryPoint ?? m.Name);

    [Fact]
    public void Header_parses_into_the_expected_number_of_functions()
    {
        var functions = HeaderFunctions();
        Assert.True(functions.Count >= 50, $"only {functions.Count} prototypes parsed from {HeaderPath}");
        Assert.Contains("ds_abi_version", functions.Keys);
        Assert.Contains("ds_producer_try_append", functions.Keys);
    }

    [Fact]
    public void Every_header_function_is_declared_and_nothing_else()
    {
        var header = HeaderFunctions().Keys.ToHashSet();
        var managed = ManagedFunctions().Keys.ToHashSet();
        Assert.Empty(header.Except(managed).Order());
        Assert.Empty(managed.Except(header).Order());
    }

    [Fact]
    public void Parameter_counts_and_types_match()
    {
        var header = HeaderFunctions();
        var problems = new List<string>();
        foreach (var (name, method) in ManagedFunctions())
        {
            if (!header.TryGetValue(name, out var c))
            {
                continue;
            }
            var parameters = method.GetParameters();
            if (parameters.Length != c.Parameters.Count)
            {
                problems.Add($"{name}: header has {c.Parameters.Count} parameters, NativeMethods {parameters.Length}");
                continue;
            }
            if (!Compatible(TypeOfDeclaration(c.ReturnType), method.ReturnType))
            {
                problems.Add($"{name}: returns {c.ReturnType} in the header but {method.ReturnType} in NativeMethods");
            }
            for (var i = 0; i < parameters.Length; i++)
            {
                var cType = TypeOfDeclaration(c.Parameters[i]);
                if (!Compatible(cType, parameters[i].ParameterType))
                {
                    problems.Add($"{name} parameter {i} ({c.Parameters[i]}): {parameters[i].ParameterType} does not map to {cType}");
                }
            }
        }
        Assert.Empty(problems);
    }

    /// <summary>The enumerators of <c>typedef enum NAME { ... } NAME;</c> in the header, with their values.</summary>
    private static List<(string Name, int Value)> HeaderEnum(string name, string prefix)
    {
        var text = File.ReadAllText(HeaderPath);
        var body = Regex.Match(text, $@"typedef enum {name} \{{(?<b>.*?)\}} {name};", RegexOptions.Singleline).Groups["b"].Value;
        body = Regex.Replace(body, @"//[^\n]*", string.Empty);
        var values = new List<(string, int)>();
        var next = 0;
        foreach (Match m in Regex.Matches(body, $@"\b{prefix}(?<n>\w+)\s*(?:=\s*(?<v>-?\d+))?\s*,"))
        {
            var value = m.Groups["v"].Success ? int.Parse(m.Groups["v"].Value, System.Globalization.CultureInfo.InvariantCulture) : next;
            values.Add((m.Groups["n"].Value, value));
            next = value + 1;
        }
        Assert.NotEmpty(values);
        return values;
    }

    /// <summary>UPPER_SNAKE_CASE → PascalCase (<c>PARSE_ERROR</c> → <c>ParseError</c>, <c>PANIC</c> → <c>Panic</c>).</summary>
    private static string PascalCase(string upperSnake) =>
        string.Concat(upperSnake.Split('_', StringSplitOptions.RemoveEmptyEntries).Select(w => w[..1] + w[1..].ToLowerInvariant()));

    /// <summary>Native kinds whose public name is the official .NET client's (several share one).</summary>
    private static readonly Dictionary<string, string> OfficialNames = new(StringComparer.Ordinal)
    {
        ["GONE"] = nameof(DurableStreamErrorCode.OffsetGone),
        ["CONFLICT"] = nameof(DurableStreamErrorCode.ConflictExists),
        ["SEQUENCE_CONFLICT"] = nameof(DurableStreamErrorCode.ConflictSeq),
        ["SEQUENCE_GAP"] = nameof(DurableStreamErrorCode.ConflictSeq),
        ["STALE_EPOCH"] = nameof(DurableStreamErrorCode.Forbidden),
    };

    [Fact]
    public void Error_code_table_matches_the_header_enum()
    {
        var header = HeaderEnum("DsErrorKind", "DS_ERROR_");
        Assert.True(header.Count >= 25, $"only {header.Count} error kinds parsed from the header");
        var problems = new List<string>();
        foreach (var (code, value) in header)
        {
            if (!NativeErrors.Codes.TryGetValue(code, out var mapped))
            {
                problems.Add($"DS_ERROR_{code} has no entry in NativeErrors.Codes");
                continue;
            }
            // The public name is the code in PascalCase, except where the official client's name is used.
            var expected = OfficialNames.TryGetValue(code, out var official) ? official : PascalCase(code);
            if (mapped.ToString() != expected)
            {
                problems.Add($"\"{code}\" maps to DurableStreamErrorCode.{mapped}, expected {expected}");
            }
            _ = value;
        }
        foreach (var code in NativeErrors.Codes.Keys.Except(header.Select(h => h.Name)))
        {
            problems.Add($"NativeErrors.Codes has \"{code}\", which the header lacks");
        }
        // Every public member is a kind of the core, but Unknown and the two official names this package never raises.
        var neverRaised = new[] { DurableStreamErrorCode.Unknown, DurableStreamErrorCode.SseNotSupported, DurableStreamErrorCode.AlreadyClosed };
        foreach (var member in Enum.GetValues<DurableStreamErrorCode>().Except(neverRaised))
        {
            if (!NativeErrors.Codes.Values.Contains(member))
            {
                problems.Add($"DurableStreamErrorCode.{member} is not in NativeErrors.Codes");
            }
        }
        Assert.Empty(problems);
        Assert.Equal(DurableStreamErrorCode.Unknown, NativeErrors.CodeOf("SOMETHING_NEWER"));
        Assert.Equal(DurableStreamErrorCode.Unknown, NativeErrors.CodeOf(null));
    }

    [Fact]
    public void Live_modes_match_the_header_enum()
    {
        var header = HeaderEnum("DsLiveMode", "DS_LIVE_");
        var members = Enum.GetValues<LiveMode>().ToDictionary(m => m.ToString());
        foreach (var (name, value) in header)
        {
            Assert.True(members.TryGetValue(PascalCase(name), out var member), $"DS_LIVE_{name} has no LiveMode.{PascalCase(name)}");
            Assert.Equal(value, NativeReader.ToNative(member));
        }
        Assert.Equal(header.Count, members.Count);
    }

    [Fact]
    public void Event_levels_match_the_header_enum()
    {
        var header = HeaderEnum("DsEventLevel", "DS_EVENT_");
        var managed = Enum.GetValues<NativeEventLevel>();
        Assert.Equal(header.Count, managed.Length);
        string[] names = ["DEBUG", "INFO", "WARN", "ERROR"];
        NativeEventLevel[] levels = [NativeEventLevel.Debug, NativeEventLevel.Information, NativeEventLevel.Warning, NativeEventLevel.Error];
        for (var i = 0; i < names.Length; i++)
        {
            Assert.Equal(header.Single(h => h.Name == names[i]).Value, (int)levels[i]);
        }
    }

    [Fact]
    public void Abi_version_and_append_statuses_match_the_header()
    {
        var text = File.ReadAllText(HeaderPath);
        Assert.Contains($"#define DS_ABI_VERSION {NativeMethods.ExpectedAbiVersion}", text, StringComparison.Ordinal);
        Assert.Contains($"#define DS_APPEND_OK {TryAppendStatus.Ok}", text, StringComparison.Ordinal);
        Assert.Contains($"#define DS_APPEND_FULL {TryAppendStatus.Full}", text, StringComparison.Ordinal);
        Assert.Contains($"#define DS_APPEND_ERROR {TryAppendStatus.Error}", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Append_args_struct_matches_the_header()
    {
        var text = File.ReadAllText(HeaderPath);
        var body = Regex.Match(text, @"typedef struct DsAppendArgs \{(?<b>.*?)\} DsAppendArgs;", RegexOptions.Singleline).Groups["b"].Value;
        body = Regex.Replace(body, @"//[^\n]*", string.Empty);
        var fields = Regex.Matches(body, @"(?<type>[\w ]+?\s*\**)\s*(?<name>\w+)\s*;").Select(m => (Type: m.Groups["type"].Value.Trim(), Name: m.Groups["name"].Value)).ToList();
        var managed = typeof(DsAppendArgs).GetFields(BindingFlags.Instance | BindingFlags.Public);
        Assert.Equal(fields.Count, managed.Length);
        for (var i = 0; i < fields.Count; i++)
        {
            Assert.Equal(PascalCase(fields[i].Name.ToUpperInvariant()), managed[i].Name);
            Assert.True(Compatible(TypeOfDeclaration(fields[i].Type), managed[i].FieldType), $"DsAppendArgs.{fields[i].Name}: {managed[i].FieldType} does not map to {fields[i].Type}");
        }
    }

    /// <summary>The type part of a C declaration ("const struct DsStream *stream" → "DsStream*").</summary>
    private static string TypeOfDeclaration(string declaration)
    {
        var d = declaration.Replace("const ", string.Empty, StringComparison.Ordinal)
            .Replace("struct ", string.Empty, StringComparison.Ordinal)
            .Replace("enum ", string.Empty, StringComparison.Ordinal)
            .Trim();
        var stars = d.Count(ch => ch == '*');
        var words = d.Replace("*", " ", StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // A declaration is "type [name]"; a bare return type is just "type".
        var type = words[0];
        return type + new string('*', stars);
    }

    private static readonly Dictionary<string, Type> s_scalars = new()
    {
        ["void"] = typeof(void),
        ["uint32_t"] = typeof(uint),
        ["int32_t"] = typeof(int),
        ["uint64_t"] = typeof(ulong),
        ["int64_t"] = typeof(long),
        ["uint16_t"] = typeof(ushort),
        ["size_t"] = typeof(nuint),
        ["bool"] = typeof(byte),
        ["DsErrorKind"] = typeof(int),
    };

    private static bool Compatible(string cType, Type managed)
    {
        if (cType.StartsWith("Ds", StringComparison.Ordinal) && cType.EndsWith("Callback", StringComparison.Ordinal))
        {
            // A function pointer typedef: must be an unmanaged function pointer.
            return managed.IsFunctionPointer && managed.IsUnmanagedFunctionPointer;
        }
        if (s_scalars.TryGetValue(cType, out var scalar))
        {
            return managed == scalar;
        }
        if (cType.EndsWith('*'))
        {
            if (!managed.IsPointer)
            {
                return false;
            }
            var element = managed.GetElementType()!;
            var cElement = cType[..^1];
            if (cElement is "char" or "uint8_t")
            {
                return element == typeof(byte);
            }
            if (cElement == "void")
            {
                return element == typeof(void);
            }
            return Compatible(cElement, element) || element.Name == cElement;
        }
        return managed.Name == cType;
    }
}
