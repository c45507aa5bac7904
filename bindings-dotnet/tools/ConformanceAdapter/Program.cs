using System.Text;

namespace DurableStreams.ConformanceAdapter;

/// <summary>
/// The conformance adapter: reads one JSON command per line on stdin, answers exactly one JSON
/// line per command on stdout. Everything else (diagnostics) goes to stderr.
/// </summary>
internal static class Program
{
    private static async Task<int> Main()
    {
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        var protocol = new StreamWriter(Console.OpenStandardOutput(), utf8) { AutoFlush = false, NewLine = "\n" };
        // Nothing but protocol lines may reach stdout: route Console.Out to stderr.
        Console.SetOut(Console.Error);
        var log = Console.Error;
        using var input = new StreamReader(Console.OpenStandardInput(), utf8);

        var adapter = new Adapter(log);
        try
        {
            while (await input.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }
                var (reply, exit) = await adapter.ExecuteLineAsync(line).ConfigureAwait(false);
                await protocol.WriteAsync(reply).ConfigureAwait(false);
                await protocol.WriteAsync('\n').ConfigureAwait(false);
                await protocol.FlushAsync().ConfigureAwait(false);
                if (exit)
                {
                    break;
                }
            }
        }
        finally
        {
            await adapter.ResetAsync().ConfigureAwait(false);
        }
        return 0;
    }
}
