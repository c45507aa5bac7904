using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using DurableStreams.Interop;

namespace DurableStreams.Tests;

/// <summary>
/// The layering rule: only the <c>DurableStreams.Interop</c> namespace touches P/Invoke. Every
/// other type of the DurableStreams assembly (public API, diagnostics, and the compiler-generated
/// types nested in them: lambdas, async state machines, iterators) calls the managed wrappers
/// (<see cref="NativeClient"/>, <see cref="NativeStream"/>, <see cref="NativeReader"/>,
/// <see cref="NativeProducer"/>) and never references <see cref="NativeMethods"/>, the native
/// structs (<c>Ds*</c>), the raw SafeHandles, pointers, function pointers or pinned memory.
/// Checked on the compiled IL (signatures, fields, locals and every member each method body
/// references) and, as a second net, on the source files.
/// </summary>
public partial class InteropBoundaryTests
{
    private const string InteropNamespace = "DurableStreams.Interop";

    private static readonly Assembly s_library = typeof(DurableStreamClient).Assembly;

    private static readonly OpCode[] s_oneByte = new OpCode[0x100];
    private static readonly OpCode[] s_twoByte = new OpCode[0x100];

    static InteropBoundaryTests()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)field.GetValue(null)!;
            var value = (ushort)op.Value;
            if (value < 0x100)
            {
                s_oneByte[value] = op;
            }
            else if ((value & 0xff00) == 0xfe00)
            {
                s_twoByte[value & 0xff] = op;
            }
        }
    }

    [Fact]
    public void Only_the_interop_namespace_references_native_code()
    {
        var outside = s_library.GetTypes().Where(t => !InInterop(t) && !IsCompilerSupport(t)).ToList();
        Assert.Contains(typeof(DurableStream), outside);
        Assert.Contains(outside, t => t.DeclaringType == typeof(StreamResponse)); // state machines are scanned too
        var violations = outside.SelectMany(Violations).Distinct().Order().ToList();
        Assert.True(violations.Count == 0, "Types outside DurableStreams.Interop reference native code:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void The_scan_finds_native_references_where_they_are()
    {
        // The check above is only worth something if the scanner sees what it looks for.
        // The call to ds_stream_append is in a lambda: a compiler-generated type nested in NativeStream.
        Assert.Contains(WithNested(typeof(NativeStream)), v => v.Contains("NativeMethods.ds_stream_append", StringComparison.Ordinal));
        Assert.Contains(WithNested(typeof(NativeStream)), v => v.Contains("pinned local", StringComparison.Ordinal));
        Assert.Contains(WithNested(typeof(NativeReader)), v => v.Contains("pointer", StringComparison.Ordinal));
        Assert.Contains(WithNested(typeof(NativeCallbacks)), v => v.Contains("DsAppendResult", StringComparison.Ordinal));
        Assert.Contains(WithNested(typeof(NativeClient)), v => v.Contains("function pointer", StringComparison.Ordinal));
        Assert.Contains(WithNested(typeof(NativeClient)), v => v.Contains("[UnmanagedCallersOnly]", StringComparison.Ordinal));
    }

    private static List<string> WithNested(Type type) =>
        s_library.GetTypes().Where(t => t == type || IsNestedIn(t, type)).SelectMany(Violations).ToList();

    private static bool IsNestedIn(Type type, Type outer)
    {
        for (var t = type.DeclaringType; t is not null; t = t.DeclaringType)
        {
            if (t == outer)
            {
                return true;
            }
        }
        return false;
    }

    [GeneratedRegex(@"\bNativeMethods\s*\.|\bunsafe\b|\bDs[A-Z]\w*\s*\*|\bfixed\s*\(|\bdelegate\s*\*|\bUnmanagedCallersOnly\b|\bDllImport\b|\bLibraryImport\b")]
    private static partial Regex NativeSyntax();

    [Fact]
    public void Source_files_outside_interop_use_no_native_syntax()
    {
        var root = Path.Combine(Infrastructure.TestServers.RepoRoot, "bindings-dotnet", "src", "DurableStreams");
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsUnder(f, Path.Combine(root, "Interop")) && !IsUnder(f, Path.Combine(root, "obj")) && !IsUnder(f, Path.Combine(root, "bin")))
            .ToList();
        Assert.Contains(files, f => f.EndsWith("DurableStream.cs", StringComparison.Ordinal));
        var hits = new List<string>();
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var code = StripComment(lines[i]);
                if (NativeSyntax().Match(code) is { Success: true } m)
                {
                    hits.Add($"{Path.GetRelativePath(root, file)}:{i + 1}: {m.Value} in \"{lines[i].Trim()}\"");
                }
            }
        }
        Assert.True(hits.Count == 0, "Native syntax outside Interop/:\n" + string.Join("\n", hits));
    }

    private static bool IsUnder(string file, string directory) =>
        file.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static string StripComment(string line)
    {
        var i = line.IndexOf("//", StringComparison.Ordinal);
        return i < 0 ? line : line[..i];
    }

    private static bool InInterop(Type type)
    {
        for (var t = type; t is not null; t = t.DeclaringType)
        {
            if (t.Namespace == InteropNamespace)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Types the compiler emits for the whole assembly (constant data, hashing for string switches).</summary>
    private static bool IsCompilerSupport(Type type) => type.FullName?.StartsWith("<PrivateImplementationDetails>", StringComparison.Ordinal) == true;

    /// <summary>Why <paramref name="type"/> (as a field, parameter, local or generic argument) is native; null when it is not.</summary>
    private static string? Native(Type type)
    {
        if (type.IsByRef || type.IsArray)
        {
            return Native(type.GetElementType()!);
        }
        if (type.IsPointer)
        {
            return $"a pointer ({type})";
        }
        if (type.IsFunctionPointer)
        {
            return "a function pointer";
        }
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            foreach (var argument in type.GetGenericArguments())
            {
                if (Native(argument) is { } reason)
                {
                    return reason;
                }
            }
        }
        if (type == typeof(NativeMethods))
        {
            return "NativeMethods";
        }
        if (InInterop(type) && type.IsValueType && Regex.IsMatch(type.Name, "^Ds[A-Z]"))
        {
            return $"the native struct {type.Name}";
        }
        if (typeof(NativeHandle).IsAssignableFrom(type) || type == typeof(HandleLease))
        {
            return $"the raw handle type {type.Name}";
        }
        return null;
    }

    private static IEnumerable<string> Violations(Type type)
    {
        const BindingFlags all = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        foreach (var field in type.GetFields(all))
        {
            if (Native(field.FieldType) is { } reason)
            {
                yield return $"{type.FullName}.{field.Name}: field of {reason}";
            }
        }
        var methods = type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all));
        foreach (var method in methods)
        {
            foreach (var violation in Violations(type, method))
            {
                yield return violation;
            }
        }
    }

    private static IEnumerable<string> Violations(Type type, MethodBase method)
    {
        var where = $"{type.FullName}.{method.Name}";
        if (method.GetCustomAttribute<UnmanagedCallersOnlyAttribute>() is not null)
        {
            yield return $"{where}: [UnmanagedCallersOnly]";
        }
        if (method is MethodInfo info && Native(info.ReturnType) is { } returned)
        {
            yield return $"{where}: returns {returned}";
        }
        foreach (var parameter in method.GetParameters())
        {
            if (Native(parameter.ParameterType) is { } reason)
            {
                yield return $"{where}: parameter {parameter.Name} of {reason}";
            }
        }
        var body = method.GetMethodBody();
        if (body is null)
        {
            yield break;
        }
        foreach (var local in body.LocalVariables)
        {
            if (local.IsPinned)
            {
                yield return $"{where}: pinned local ({local.LocalType}): fixed";
            }
            else if (Native(local.LocalType) is { } reason)
            {
                yield return $"{where}: local of {reason}";
            }
        }
        foreach (var reference in References(method, body.GetILAsByteArray() ?? []))
        {
            yield return $"{where}: {reference}";
        }
    }

    /// <summary>The native members or types that the IL of <paramref name="method"/> references.</summary>
    private static List<string> References(MethodBase method, byte[] il)
    {
        var found = new List<string>();
        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var i = 0;
        while (i < il.Length)
        {
            OpCode op;
            if (il[i] == 0xfe)
            {
                op = s_twoByte[il[i + 1]];
                i += 2;
            }
            else
            {
                op = s_oneByte[il[i]];
                i += 1;
            }
            switch (op.OperandType)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + (4 * BitConverter.ToInt32(il, i));
                    break;
                case OperandType.InlineSig:
                    found.Add("calli (a call through a function pointer)");
                    i += 4;
                    break;
                case OperandType.InlineField:
                case OperandType.InlineMethod:
                case OperandType.InlineTok:
                case OperandType.InlineType:
                    var token = BitConverter.ToInt32(il, i);
                    i += 4;
                    if (Describe(method.Module, token, typeArguments, methodArguments) is { } reference)
                    {
                        found.Add(reference);
                    }
                    break;
                default: // InlineBrTarget, InlineI, InlineString, ShortInlineR
                    i += 4;
                    break;
            }
        }
        return found;
    }

    private static string? Describe(Module module, int token, Type[]? typeArguments, Type[]? methodArguments)
    {
        MemberInfo member;
        try
        {
            member = module.ResolveMember(token, typeArguments, methodArguments)!;
        }
        catch (ArgumentException)
        {
            return null; // a token of another kind (e.g. a string); not a member
        }
        if (member is Type t)
        {
            return Native(t) is { } reason ? $"uses {reason}" : null;
        }
        var owner = member.DeclaringType;
        if (owner is not null && Native(owner) is { } ownerReason)
        {
            return $"uses {owner.Name}.{member.Name} ({ownerReason})";
        }
        if (owner?.Assembly != s_library)
        {
            // Framework members: the compiler's own safe patterns (e.g. stackalloc into a Span)
            // reference pointer-typed framework members; only this library's are checked.
            return null;
        }
        var signature = member switch
        {
            MethodInfo m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType),
            ConstructorInfo c => c.GetParameters().Select(p => p.ParameterType),
            FieldInfo f => [f.FieldType],
            _ => [],
        };
        foreach (var type in signature)
        {
            if (Native(type) is { } reason)
            {
                return $"uses {owner.Name}.{member.Name}, whose signature has {reason}";
            }
        }
        return null;
    }
}
