using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace TokenStreamingDemo;

/// <summary>
/// A TCP relay on 127.0.0.1 standing in for the network between the chat UI and the server:
/// <see cref="DropAll"/> resets every connection and refuses new ones until <see cref="Restore"/>.
/// </summary>
internal sealed class Relay : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<Socket, Socket> _open = new(); // client side -> server side
    private volatile bool _down;

    public Relay(string host, int port)
    {
        _listener.Start();
        _ = AcceptAsync(host, port);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The network dies. Returns how many open connections were reset.</summary>
    public int DropAll()
    {
        _down = true;
        var open = _open.ToArray();
        foreach (var (client, server) in open)
        {
            Reset(client);
            Reset(server);
        }
        return open.Length;
    }

    /// <summary>The network is back: new connections are relayed again.</summary>
    public void Restore() => _down = false;

    public void Dispose()
    {
        _listener.Stop(); // ends the accept loop
        DropAll();
    }

    private async Task AcceptAsync(string host, int port)
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptSocketAsync();
                if (_down)
                {
                    Reset(client); // the network is down
                    continue;
                }
                _ = RelayAsync(client, host, port); // never throws
            }
        }
        catch (Exception)
        {
            // Dispose stopped the listener.
        }
    }

    // Copies both ways until either side goes away; any failure (e.g. after DropAll) resets both
    // sockets, which also ends the other direction.
    private async Task RelayAsync(Socket client, string host, int port)
    {
        using var server = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true; // pass each SSE event on at once, as a real network would
        _open[client] = server;
        try
        {
            await server.ConnectAsync(host, port);
            await Task.WhenAll(PumpAsync(client, server), PumpAsync(server, client));
        }
        catch (Exception)
        {
            // The server is unreachable: the client sees a reset.
        }
        _open.TryRemove(client, out _);
        Reset(client);
        Reset(server);
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        try
        {
            await new NetworkStream(from).CopyToAsync(new NetworkStream(to));
            to.Shutdown(SocketShutdown.Send); // pass the end of the data on
        }
        catch (Exception)
        {
            Reset(from);
            Reset(to);
        }
    }

    // Close(0) is an abortive close: the peer gets a TCP reset (RST), like a connection lost mid-response.
    private static void Reset(Socket socket) => socket.Close(0);
}
