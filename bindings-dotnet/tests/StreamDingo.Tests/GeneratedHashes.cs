using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using StreamDingo.Generators;

namespace StreamDingo.Tests;

/// <summary>Runs the real source generator over a piece of source, as a build of a user's project would, and returns the handler hashes it generated.</summary>
internal static partial class GeneratedHashes
{
    public static (Dictionary<string, string> Hashes, string GeneratedSource, IReadOnlyList<Diagnostic> Diagnostics) Run(string source)
    {
        var references = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => !a.IsDynamic && !string.IsNullOrEmpty(a.Location))
            .Select(a => MetadataReference.CreateFromFile(a.Location))
            .Append(MetadataReference.CreateFromFile(typeof(IEvent).Assembly.Location));
        var compilation = CSharpCompilation.Create(
            "UserBuild",
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest), path: "Handlers.cs")],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create(new HandlerHashGenerator());
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var generated = string.Concat(driver.GetRunResult().GeneratedTrees.Select(t => t.ToString()));
        var hashes = RegisterCall().Matches(generated).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["hash"].Value, StringComparer.Ordinal);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        return (hashes, generated, errors);
    }

    public static string HashOf(string source, string handlerName)
    {
        var (hashes, generated, errors) = Run(source);
        Assert.Empty(errors);
        Assert.True(hashes.TryGetValue(handlerName, out var hash), $"No hash generated for {handlerName}:\n{generated}");
        return hash;
    }

    [GeneratedRegex("Register\\(typeof\\([^)]*\\), \"(?<name>[^\"]+)\", \"(?<hash>[0-9a-f]{64})\"\\)")]
    private static partial Regex RegisterCall();
}

/// <summary>Sources of "one handler in several builds": the same class, edited.</summary>
internal static class DepositHandlerBuilds
{
    public const string Name = "Bank.DepositHandler";

    public const string Original = """
        using StreamDingo;
        using StreamDingo.Tests.Domain;
        namespace Bank;
        public sealed class DepositHandler : IEventHandler<Account, MoneyDeposited>
        {
            public Account Handle(Account? previousSnapshot, MoneyDeposited @event)
            {
                var account = previousSnapshot ?? throw new System.InvalidOperationException("Deposit before the account was opened.");
                return account with { Balance = account.Balance + @event.Amount, Operations = account.Operations + 1 };
            }
        }
        """;

    /// <summary>The original with its layout changed and comments added: the same code.</summary>
    public const string Reformatted = """
        using StreamDingo;
        using StreamDingo.Tests.Domain;
        namespace Bank;
        // Deposits money.
        public sealed class DepositHandler : IEventHandler<Account, MoneyDeposited>
        {
            /// <summary>Adds the amount.</summary>
            public Account Handle(Account? previousSnapshot, MoneyDeposited @event) {
                var account = previousSnapshot
                    ?? throw new System.InvalidOperationException("Deposit before the account was opened."); /* guard */
                return account with {   Balance = account.Balance + @event.Amount,   Operations = account.Operations + 1 };
            }
        }
        """;

    /// <summary>The rule changed: a bonus of 1 on every deposit.</summary>
    public const string WithBonus = """
        using StreamDingo;
        using StreamDingo.Tests.Domain;
        namespace Bank;
        public sealed class DepositHandler : IEventHandler<Account, MoneyDeposited>
        {
            public Account Handle(Account? previousSnapshot, MoneyDeposited @event)
            {
                var account = previousSnapshot ?? throw new System.InvalidOperationException("Deposit before the account was opened.");
                return account with { Balance = account.Balance + @event.Amount + 1, Operations = account.Operations + 1 };
            }
        }
        """;
}
