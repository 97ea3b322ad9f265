using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ResilienceOperator.Tests.Health;

/// <summary>A pod stand-in on a loopback address: answers HTTP with a status, or accepts and never answers.</summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly int? _status;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _held = [];
    private readonly bool _keepAlive;
    private readonly TaskCompletionSource _clientClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly int _hangFirst;
    private int _connections;

    /// <param name="status">The HTTP status to answer with; null hangs: accepts, reads, never answers.</param>
    /// <param name="keepAlive">Answer as a keep-alive server does (no "Connection: close") and keep the connection open for the client.</param>
    /// <param name="hangFirst">How many connections hang (accepted, read, never answered) before the server answers with <paramref name="status"/>.</param>
    public LoopbackServer(IPAddress address, int? status = 200, bool keepAlive = false, int hangFirst = 0)
    {
        _status = status;
        _keepAlive = keepAlive;
        _hangFirst = hangFirst;
        _listener = new TcpListener(address, 0);
        _listener.Start();
        _ = AcceptAsync();
    }

    public string? LastRequest { get; private set; }

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Completes when a client closes a connection this keep-alive server answered on.</summary>
    public Task ClientClosed => _clientClosed.Task;

    /// <summary>A port on <paramref name="address"/> where nothing listens.</summary>
    public static int ClosedPort(IPAddress address)
    {
        var l = new TcpListener(address, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        l.Dispose();
        return port;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket s;
            try { s = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception) { return; }
            lock (_held) _held.Add(s);
            _ = ServeAsync(s);
        }
    }

    private async Task ServeAsync(Socket s)
    {
        var status = Interlocked.Increment(ref _connections) <= _hangFirst ? null : _status;
        try
        {
            var buffer = new byte[4096];
            var read = 0;
            while (read < buffer.Length)
            {
                var n = await s.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, _stop.Token);
                if (n == 0) return;
                read += n;
                if (status is not null && Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal)) break;
            }
            if (status is null) return;
            LastRequest = Encoding.ASCII.GetString(buffer, 0, read);
            var close = _keepAlive ? "" : "Connection: close\r\n";
            await s.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n{close}\r\n"), SocketFlags.None, _stop.Token);
            if (!_keepAlive) { s.Shutdown(SocketShutdown.Both); return; }
            // The client's end of the connection: a read of 0 bytes (FIN) or a reset.
            try { if (await s.ReceiveAsync(buffer, SocketFlags.None, _stop.Token) == 0) _clientClosed.TrySetResult(); }
            catch (SocketException) { _clientClosed.TrySetResult(); }
        }
        catch (Exception)
        {
            // the prober gave up: fine
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Dispose();
        lock (_held) foreach (var s in _held) s.Dispose();
        _stop.Dispose();
    }
}
