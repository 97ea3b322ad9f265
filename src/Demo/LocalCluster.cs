using System.Diagnostics;
using k8s;
using Microsoft.Extensions.Logging;

namespace ResilienceOperator.Demo;

/// <summary>The project's local control plane plus the node simulator, for the demo and the benchmark.</summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private readonly string _stateDir;
    private NodeSimulator.NodeSimulator? _simulator;

    private LocalCluster(string repoRoot, string stateDir)
    {
        RepoRoot = repoRoot;
        _stateDir = stateDir;
        Kubeconfig = Path.Combine(stateDir, "kubeconfig");
    }

    public string RepoRoot { get; }
    public string Kubeconfig { get; }
    public IKubernetes Client { get; private set; } = null!;
    public string StateDir => _stateDir;
    /// <summary>The node simulator that runs this cluster's pods.</summary>
    public NodeSimulator.NodeSimulator Simulator => _simulator ?? throw new InvalidOperationException("the node simulator has not started");

    /// <param name="userAgent">
    /// Sent by this process's client (the node simulator and the caller), so that the API server's
    /// audit log tells its requests apart from the operator's; none by default.
    /// </param>
    public static async Task<LocalCluster> StartAsync(string name, ILoggerFactory loggers, bool installCrds = true, string? userAgent = null,
        int nodes = 2)
    {
        var root = FindRepoRoot();
        var cluster = new LocalCluster(root, Path.Combine(root, ".local", name));
        var (code, output) = await cluster.ScriptAsync("up");
        if (code != 0) throw new InvalidOperationException("hack/control-plane.sh up failed:\n" + output);
        var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.Kubeconfig));
        if (userAgent is not null) client.HttpClient.DefaultRequestHeaders.UserAgent.ParseAdd(userAgent);
        cluster.Client = client;
        cluster._simulator = new NodeSimulator.NodeSimulator(cluster.Client, new NodeSimulator.NodeSimulatorOptions { Nodes = nodes },
            loggers.CreateLogger("NodeSimulator"));
        await cluster._simulator.StartAsync(CancellationToken.None);
        if (!installCrds) return cluster;
        var (c2, o2) = await cluster.KubectlAsync("apply", "--validate=false", "-f", Path.Combine(root, "config", "crd"));
        if (c2 != 0) throw new InvalidOperationException("installing the CRDs failed:\n" + o2);
        await cluster.KubectlAsync("wait", "--for=condition=Established", "crd", "--all", "--timeout=30s");
        return cluster;
    }

    public Task<(int Code, string Output)> KubectlAsync(params string[] args) =>
        RunAsync("kubectl", ["--kubeconfig", Kubeconfig, .. args], null);

    private Task<(int, string)> ScriptAsync(string verb) =>
        RunAsync("bash", [Path.Combine(RepoRoot, "hack", "control-plane.sh"), verb], new() { ["RESILIENCE_LOCAL_DIR"] = _stateDir });

    private static async Task<(int, string)> RunAsync(string file, IEnumerable<string> args, Dictionary<string, string>? env)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? []) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }

    private static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "ResilienceOperator.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("run from inside the ResilienceOperator repository");
    }

    public async ValueTask DisposeAsync()
    {
        if (_simulator is not null) await _simulator.DisposeAsync();
        (Client as IDisposable)?.Dispose();
        await ScriptAsync("down");
    }
}
