using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DurableStreams.Tests.Infrastructure;

/// <summary>
/// A tiny HTTP/1.1 server for error-mapping, retry, timeout and header tests: records each
/// request's head and answers with whatever <see cref="Respond"/> returns (null: never answer).
/// </summary>
public sealed class FakeHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _requests = [];
    private readonly Task _loop;

    public FakeHttpServer(Func<string, string?> respond)
        : this(respond, null)
    {
    }

    private FakeHttpServer(Func<string, string?> respond, Func<string, byte[]?>? respondBytes)
    {
        Respond = respond;
        RespondBytes = respondBytes;
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>A server answering with raw bytes (any byte values in the body; sent as is, also to HEAD).</summary>
    public static FakeHttpServer Raw(Func<string, byte[]?> respond) => new(_ => null, respond);

    public Func<string, string?> Respond { get; }

    public Func<string, byte[]?>? RespondBytes { get; }

    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_requests)
            {
                return _requests.ToList();
            }
        }
    }

    public static string Response(int status, string reason, string body = "", params string[] headers)
    {
        var head = new StringBuilder($"HTTP/1.1 {status} {reason}\r\n");
        foreach (var header in headers)
        {
            head.Append(header).Append("\r\n");
        }
        head.Append(System.Globalization.CultureInfo.InvariantCulture, $"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n");
        return head + body;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var buffer = new byte[16384];
                var received = new StringBuilder();
                while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var n = await stream.ReadAsync(buffer, _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }
                    received.Append(Encoding.Latin1.GetString(buffer, 0, n));
                }
                var request = received.ToString();
                lock (_requests)
                {
                    _requests.Add(request);
                }
                if (RespondBytes is not null)
                {
                    if (RespondBytes(request) is { } bytes)
                    {
                        await stream.WriteAsync(bytes, _stop.Token);
                    }
                    else
                    {
                        await Task.Delay(Timeout.Infinite, _stop.Token);
                    }
                    return;
                }
                var response = Respond(request);
                if (response is null)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token);
                    return;
                }
                if (request.StartsWith("HEAD ", StringComparison.Ordinal))
                {
                    // No body on HEAD responses (Content-Length still describes the GET body).
                    response = response[..(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)];
                }
                await stream.WriteAsync(Encoding.UTF8.GetBytes(response), _stop.Token);
            }
            catch (Exception)
            {
                // Connection reset or server stopping.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (Exception)
        {
            // Stopping.
        }
        _stop.Dispose();
    }
}
