using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ResilienceOperator.IntegrationTests.Chaos;

/// <summary>
/// The operator as its own process (the build output of src/Operator), so that a test can stop it
/// the way a node does: SIGKILL, SIGTERM, SIGSTOP/SIGCONT. Every process started here is killed
/// when the test process exits, so a failed test never leaves one behind.
/// </summary>
internal sealed class OperatorProcess : IAsyncDisposable
{
    private static readonly List<Process> Started = [];
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    static OperatorProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            lock (Started) foreach (var p in Started) { try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }
        };
    }

    private OperatorProcess(Process process, int port, string identity)
    {
        _process = process;
        Port = port;
        Identity = identity;
    }

    public int Port { get; }
    public string Identity { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Starts the operator watching <paramref name="ns"/>, with its lease there when <paramref name="leaderElect"/>.</summary>
    public static OperatorProcess Start(string kubeconfig, string ns, string identity, bool leaderElect = true, params string[] extra)
    {
        var port = FreePort();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        string[] args =
        [
            OperatorDll(), "--kubeconfig", kubeconfig, "--namespaces", ns, "--workers", "2",
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind-address", "127.0.0.1",
        ];
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (leaderElect)
            foreach (var a in new[] { "--leader-elect", "--lease-namespace", ns }) psi.ArgumentList.Add(a);
        foreach (var a in extra) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        lock (Started) Started.Add(process);
        var op = new OperatorProcess(process, port, identity);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (op._output) op._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (op._output) op._output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return op;
    }

    /// <summary>Whether /healthz answers 200 now.</summary>
    public async Task<bool> HealthyAsync()
    {
        try { return (await Http.GetAsync(new Uri($"http://127.0.0.1:{Port}/healthz"))).StatusCode == HttpStatusCode.OK; }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { return false; }
    }

    /// <summary>The sum of a metric's samples whose labels contain every given <c>name="value"</c> pair; null when /metrics does not answer.</summary>
    public async Task<double?> MetricAsync(string name, params string[] labels)
    {
        string text;
        try { text = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{Port}/metrics")); }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { return null; }
        return PrometheusText.Sum(text, name, labels);
    }

    /// <summary>The whole /metrics page; null when it does not answer.</summary>
    public async Task<string?> MetricsTextAsync()
    {
        try { return await Http.GetStringAsync(new Uri($"http://127.0.0.1:{Port}/metrics")); }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { return null; }
    }

    /// <summary>How many series of a metric carry every given <c>name="value"</c> pair (0: none, the series is absent); null when /metrics does not answer.</summary>
    public async Task<int?> SeriesAsync(string name, params string[] labels)
    {
        string text;
        try { text = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{Port}/metrics")); }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { return null; }
        return PrometheusText.Count(text, name, labels);
    }

    /// <summary>Whether this replica says it leads (leader_election_master_status).</summary>
    public async Task<bool> LeadingAsync() => await MetricAsync("leader_election_master_status") is > 0;

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    /// <summary>SIGKILL: no shutdown, no lease release.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>SIGTERM, as the kubelet sends, and wait for the graceful shutdown.</summary>
    public async Task TerminateAsync()
    {
        Signal("TERM");
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                Signal("CONT");
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException) { }
        lock (Started) Started.Remove(_process);
        // Kept for reading after a failure, beside the in-process operators' log.
        await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), $"resilience-operator-process-{Identity}-{_process.Id}.log"), Output);
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>The operator built in the same configuration as these tests (hack/test.sh builds the solution first).</summary>
    private static string OperatorDll()
    {
        // Another build (e.g. an older commit's) to show that a chaos test fails without a fix.
        if (Environment.GetEnvironmentVariable("RESILIENCE_TEST_OPERATOR_DLL") is { Length: > 0 } other) return other;
        var config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var dll = Path.Combine(dir.FullName, "src", "Operator", "bin", config, "net10.0", "ResilienceOperator.dll");
            if (File.Exists(dll)) return dll;
        }
        throw new InvalidOperationException($"src/Operator/bin/{config}/net10.0/ResilienceOperator.dll not found: build the solution first (hack/test.sh does)");
    }
}

/// <summary>Reads samples out of the Prometheus text format.</summary>
internal static class PrometheusText
{
    public static int Count(string text, string name, params string[] labels) => Samples(text, name, labels).Count();

    public static double Sum(string text, string name, params string[] labels) => Samples(text, name, labels).Sum();

    private static IEnumerable<double> Samples(string text, string name, string[] labels)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#') || !line.StartsWith(name, StringComparison.Ordinal)) continue;
            var rest = line[name.Length..];
            if (rest.Length == 0 || (rest[0] != '{' && rest[0] != ' ')) continue;
            if (!labels.All(l => rest.Contains(l, StringComparison.Ordinal))) continue;
            yield return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }
    }
}
