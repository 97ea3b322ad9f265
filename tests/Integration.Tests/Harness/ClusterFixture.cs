using System.Diagnostics;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace ResilienceOperator.IntegrationTests.Harness;

/// <summary>All integration tests share one local control plane and node simulator.</summary>
[CollectionDefinition("cluster")]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>;

/// <summary>
/// Brings up the project's local control plane (hack/control-plane.sh) and the node simulator
/// once per run — or uses the cluster named by RESILIENCE_TEST_KUBECONFIG — installs the CRDs,
/// and hands out a namespace per test. When anything cannot start it throws, so every test
/// fails with the reason: integration tests are never skipped.
/// </summary>
public class ClusterFixture : IAsyncLifetime
{
    private readonly List<string> _namespaces = [];
    private NodeSimulator.NodeSimulator? _simulator;
    private bool _startedControlPlane;
    private string _stateDir = "";

    public IKubernetes Client { get; private set; } = null!;

    /// <summary>The node simulator that runs the pods and answers their probes (its <c>Answered</c> event shows each answer).</summary>
    public NodeSimulator.NodeSimulator Simulator => _simulator ?? throw new InvalidOperationException("the node simulator has not started");
    public string KubeconfigPath { get; private set; } = "";
    public string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The state folder's name under .local (a second cluster needs its own).</summary>
    protected virtual string Name => "test-cluster";

    /// <summary>Whether RESILIENCE_TEST_KUBECONFIG may stand in for this cluster (not for one whose API server a test stops).</summary>
    protected virtual bool MayUseExternal => true;

    /// <summary>Extra environment for hack/control-plane.sh up (flags of the API server or controller-manager).</summary>
    protected virtual Dictionary<string, string> ControlPlaneEnvironment => [];

    /// <summary>The 127.N.0.0/16 pod network of this cluster's simulator, distinct per process and per cluster.</summary>
    protected virtual byte PodNetwork => (byte)(10 + Environment.ProcessId % 240);

    public async Task InitializeAsync()
    {
        var external = MayUseExternal ? Environment.GetEnvironmentVariable("RESILIENCE_TEST_KUBECONFIG") : null;
        // Per process, so that two test runs on one machine do not share a control plane.
        _stateDir = Path.Combine(RepoRoot, ".local", $"{Name}-{Environment.ProcessId}");
        try
        {
            if (!string.IsNullOrEmpty(external))
            {
                KubeconfigPath = external;
            }
            else
            {
                var (code, output) = await ControlPlaneAsync("up", TimeSpan.FromMinutes(20));
                if (code != 0) throw new InvalidOperationException("hack/control-plane.sh up failed:\n" + output);
                _startedControlPlane = true;
                KubeconfigPath = Path.Combine(_stateDir, "kubeconfig");
            }
            Client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(KubeconfigPath));
            _simulator = new NodeSimulator.NodeSimulator(Client, new NodeSimulator.NodeSimulatorOptions { Nodes = 2, PodNetwork = PodNetwork }, NullLogger.Instance);
            await _simulator.StartAsync(CancellationToken.None);
            await WaitUntilAsync(async () =>
            {
                var nodes = await Client.CoreV1.ListNodeAsync();
                return _simulator.NodeNames.All(n => nodes.Items.Any(x => x.Metadata.Name == n
                    && x.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true
                    && x.Spec?.Taints?.Any(t => t.Key.StartsWith("node.kubernetes.io/not-ready", StringComparison.Ordinal)) != true));
            }, TimeSpan.FromSeconds(60), "simulated nodes Ready and untainted");
            var crdDir = Path.Combine(RepoRoot, "config", "crd");
            if (Directory.Exists(crdDir) && Directory.EnumerateFiles(crdDir, "*.yaml").Any())
            {
                var (code, stdout, stderr) = await RunKubectlAsync("apply", "--validate=false", "-f", crdDir);
                if (code != 0) throw new InvalidOperationException($"installing the CRDs failed: {stdout}{stderr}");
                (code, stdout, stderr) = await RunKubectlAsync("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s");
                if (code != 0) throw new InvalidOperationException($"CRDs not Established: {stdout}{stderr}");
            }
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException(
                $"The local control plane could not start, so integration tests cannot run: {ex.Message}\n--- logs ---\n{LogTail()}", ex);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var ns in _namespaces)
        {
            try { await Client.CoreV1.DeleteNamespaceAsync(ns); } catch (HttpOperationException) { }
        }
        if (_simulator is not null) await _simulator.DisposeAsync();
        (Client as IDisposable)?.Dispose();
        if (_startedControlPlane) await ControlPlaneAsync("down", TimeSpan.FromMinutes(1));
    }

    /// <summary>hack/control-plane.sh COMMAND for this cluster's state folder.</summary>
    protected Task<(int Code, string Output)> ControlPlaneAsync(string command, TimeSpan timeout)
    {
        var env = new Dictionary<string, string>(ControlPlaneEnvironment) { ["RESILIENCE_LOCAL_DIR"] = _stateDir };
        return RunAsync("bash", [Path.Combine(RepoRoot, "hack", "control-plane.sh"), command], env, timeout);
    }

    /// <summary>A fresh namespace for one test, deleted when the run ends.</summary>
    public async Task<string> CreateNamespaceAsync(string prefix)
    {
        var name = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["resilience.dev/test"] = "true" } },
        });
        lock (_namespaces) _namespaces.Add(name);
        return name;
    }

    /// <summary>Polls every 100 ms; throws a TimeoutException naming what it waited for.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string description)
    {
        var sw = Stopwatch.StartNew();
        Exception? last = null;
        while (sw.Elapsed < timeout)
        {
            try
            {
                if (await condition()) return;
                last = null;
            }
            catch (HttpOperationException ex) { last = ex; }
            await Task.Delay(100);
        }
        throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#}s waiting for: {description}{(last is null ? "" : " (last error: " + last.Message + ")")}");
    }

    public async Task<(int ExitCode, string Stdout, string Stderr)> RunKubectlAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("--kubeconfig");
        psi.ArgumentList.Add(KubeconfigPath);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout, await stderr);
    }

    public static V1Deployment Deployment(string name, string ns, int replicas, IDictionary<string, string> labels, int httpPort = 8080, string readinessPath = "/healthz") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1DeploymentSpec
        {
            Replicas = replicas,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(labels) },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels) },
                Spec = new V1PodSpec
                {
                    TerminationGracePeriodSeconds = 1,
                    Containers =
                    [
                        new V1Container
                        {
                            Name = "app", Image = "sim/app:1",
                            Ports = [new V1ContainerPort { ContainerPort = httpPort, Name = "http" }],
                            ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = readinessPath, Port = httpPort }, PeriodSeconds = 1 },
                        },
                    ],
                },
            },
        },
    };

    public static V1Service Service(string name, string ns, IDictionary<string, string> selector, int port = 80, int targetPort = 8080) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec { Selector = new Dictionary<string, string>(selector), Ports = [new V1ServicePort { Port = port, TargetPort = targetPort }] },
    };

    private string LogTail()
    {
        var dir = Path.Combine(_stateDir, "control-plane");
        if (!Directory.Exists(dir)) return "(no control-plane logs)";
        return string.Join("\n", Directory.EnumerateFiles(dir, "*.log").Select(f =>
            $"== {Path.GetFileName(f)}\n{string.Join("\n", File.ReadLines(f).TakeLast(15))}"));
    }

    private static async Task<(int, string)> RunAsync(string file, IEnumerable<string> args, Dictionary<string, string> env, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout + await stderr);
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ResilienceOperator.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (ResilienceOperator.sln) above " + AppContext.BaseDirectory);
    }
}
