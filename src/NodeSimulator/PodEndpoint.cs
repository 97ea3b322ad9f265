using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ResilienceOperator.NodeSimulator;

/// <summary>
/// One listening socket on a pod IP and port: accepts TCP, and answers any HTTP request with
/// 200 "ok", or 503 while the pod is faulted; while it hangs, accepts and never answers.
/// One accept loop, no thread per connection.
/// </summary>
internal sealed class PodEndpoint : IDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<bool> _failing;
    private readonly Func<bool> _hanging;
    private readonly Action<bool>? _answered;
    private readonly CancellationTokenSource _stop = new();

    /// <param name="answered">Called after each HTTP answer, with whether it was a failing one.</param>
    public PodEndpoint(IPAddress ip, int port, Func<bool> failing, Func<bool>? hanging = null, Action<bool>? answered = null)
    {
        _failing = failing;
        _hanging = hanging ?? (() => false);
        _answered = answered;
        _listener = new TcpListener(ip, port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start(64);
        _ = AcceptLoopAsync();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var s = socket;
        try
        {
            var buffer = new byte[4096];
            if (_hanging())
            {
                // Hold the connection, read and drop whatever comes, never answer: only a
                // client's own timeout ends it (or the client going away, or the pod).
                while (await s.ReceiveAsync(buffer, SocketFlags.None, _stop.Token) > 0) { }
                return;
            }
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            cts.CancelAfter(TimeSpan.FromSeconds(5));
            var read = 0;
            // Read the request head; a plain TCP check sends nothing and just closes.
            while (read < buffer.Length)
            {
                var n = await s.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cts.Token);
                if (n == 0) return;
                read += n;
                if (Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal)) break;
            }
            var failing = _failing();
            var body = failing ? "unavailable\n" : "ok\n";
            var head = $"HTTP/1.1 {(failing ? "503 Service Unavailable" : "200 OK")}\r\n" +
                $"Content-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
            await s.SendAsync(Encoding.ASCII.GetBytes(head + body), SocketFlags.None, cts.Token);
            s.Shutdown(SocketShutdown.Both);
            _answered?.Invoke(failing);
        }
        catch (Exception)
        {
            // a client that went away is not our problem
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Dispose();
        _stop.Dispose();
    }
}
