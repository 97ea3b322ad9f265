using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Demo;

/// <summary>
/// Leader hand-over figures with the operator as its own processes, the way a cluster runs two
/// replicas: SIGKILL of the leader (no release: the follower waits for the Lease to run out) and
/// SIGTERM (released on the way out), each measured until the other replica reports that it
/// leads (<c>leader_election_master_status</c> 1 on its /metrics). A replacement replica is
/// started after each stop, so every run begins with a leader and a follower.
/// </summary>
internal sealed class LeaderBenchmark(string[] args)
{
    private readonly int _runs = Option(args, "--runs", 5);
    /// <summary>Another build of the operator to measure (e.g. an older commit's), instead of this repository's.</summary>
    private readonly string? _operator = Array.IndexOf(args, "--operator") is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    public async Task<int> RunAsync(CancellationToken ct)
    {
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        await using var cluster = await LocalCluster.StartAsync("bench-leader", loggers);
        const string ns = "leader-bench";
        await cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: ct);
        await CreateWorkloadAsync(cluster.Client, ns, ct);
        var dll = _operator ?? Replica.OperatorDll();
        var replicas = new List<Replica> { Replica.Start(dll, cluster.Kubeconfig, ns), Replica.Start(dll, cluster.Kubeconfig, ns) };
        var kills = new List<double>();
        var terms = new List<double>();
        try
        {
            for (var run = 0; run < _runs; run++)
            {
                foreach (var (signal, figures) in new[] { ("KILL", kills), ("TERM", terms) })
                {
                    var leader = await LeaderAsync(replicas, ct);
                    var follower = replicas.Single(r => r != leader);
                    await WaitAsync(follower.ReadyAsync, TimeSpan.FromSeconds(60), ct);
                    var sw = Stopwatch.StartNew();
                    leader.Signal(signal);
                    await WaitAsync(follower.LeadingAsync, TimeSpan.FromSeconds(60), ct);
                    figures.Add(sw.Elapsed.TotalSeconds);
                    Console.WriteLine($"run {run + 1}/{_runs}: SIG{signal} -> new leader {sw.Elapsed.TotalSeconds:0.00}s");
                    await leader.StopAsync();
                    replicas.Remove(leader);
                    replicas.Add(Replica.Start(dll, cluster.Kubeconfig, ns));
                }
            }
        }
        finally
        {
            foreach (var r in replicas) await r.StopAsync();
        }
        Console.WriteLine($"SIGKILL -> new leader over {kills.Count} runs: {Summary(kills)} (goal <= 17s; lease 15s, renew deadline 10s, retry 2s)");
        Console.WriteLine($"SIGTERM -> new leader over {terms.Count} runs: {Summary(terms)} (goal <= 3s)");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}");
        return 0;
    }

    private static string Summary(List<double> values)
    {
        var sorted = values.Order().ToList();
        return $"median {sorted[sorted.Count / 2]:0.00}s, min {sorted[0]:0.00}s, max {sorted[^1]:0.00}s";
    }

    private static async Task<Replica> LeaderAsync(List<Replica> replicas, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            foreach (var r in replicas) if (await r.LeadingAsync()) return r;
            await Task.Delay(50, ct);
        }
        throw new TimeoutException("no replica leads within 60 s");
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > timeout) throw new TimeoutException($"not within {timeout.TotalSeconds:0}s");
            await Task.Delay(50, ct);
        }
    }

    /// <summary>A primary, a standby, a Service and a policy: the leader has something to keep true.</summary>
    private static async Task CreateWorkloadAsync(IKubernetes c, string ns, CancellationToken ct)
    {
        foreach (var name in new[] { "primary", "standby" })
        {
            var labels = new Dictionary<string, string> { ["app"] = name };
            await c.AppsV1.CreateNamespacedDeploymentAsync(new V1Deployment
            {
                Metadata = new V1ObjectMeta { Name = name },
                Spec = new V1DeploymentSpec
                {
                    Replicas = 1,
                    Selector = new V1LabelSelector { MatchLabels = labels },
                    Template = new V1PodTemplateSpec
                    {
                        Metadata = new V1ObjectMeta { Labels = labels },
                        Spec = new V1PodSpec
                        {
                            Containers =
                            [
                                new V1Container { Name = "app", Image = "sim/app:1", Ports = [new V1ContainerPort { ContainerPort = 8080 }] },
                            ],
                        },
                    },
                },
            }, ns, cancellationToken: ct);
        }
        await c.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "app" },
            Spec = new V1ServiceSpec
            {
                Selector = new Dictionary<string, string> { ["app"] = "app" }, Ports = [new V1ServicePort { Port = 80, TargetPort = 8080 }],
            },
        }, ns, cancellationToken: ct);
        var policy = new ResiliencePolicy
        {
            Metadata = new V1ObjectMeta { Name = "app", NamespaceProperty = ns },
            Spec = new ResiliencePolicySpec
            {
                Targets = [new TargetSpec { Name = "primary", Priority = 0 }, new TargetSpec { Name = "standby", Priority = 10 }],
                Service = new ServiceReference { Name = "app" },
                HealthCheck = new HealthCheckSpec { Interval = "1s", Timeout = "500ms", Retries = 2 },
            },
        };
        await c.CustomObjects.CreateNamespacedCustomObjectAsync(policy, GroupVersion.Group, GroupVersion.Version, ns,
            ResiliencePolicy.KubePluralName, cancellationToken: ct);
    }

    /// <summary>One operator replica: the built src/Operator, leader-electing in the namespace.</summary>
    private sealed class Replica
    {
        private readonly Process _process;
        private readonly int _port;

        private Replica(Process process, int port)
        {
            _process = process;
            _port = port;
        }

        public static Replica Start(string dll, string kubeconfig, string ns)
        {
            var port = FreePort();
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[]
            {
                dll, "--kubeconfig", kubeconfig, "--namespaces", ns, "--leader-elect", "--lease-namespace", ns,
                "--port", port.ToString(CultureInfo.InvariantCulture), "--bind-address", "127.0.0.1", "--log-level", "Warning",
            }) psi.ArgumentList.Add(a);
            var process = Process.Start(psi)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return new Replica(process, port);
        }

        public void Signal(string signal)
        {
            using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)])!;
            kill.WaitForExit();
        }

        public async Task<bool> ReadyAsync()
        {
            try { return (await Http.GetAsync(new Uri($"http://127.0.0.1:{_port}/readyz"))).StatusCode == HttpStatusCode.OK; }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { return false; }
        }

        public async Task<bool> LeadingAsync()
        {
            try
            {
                var text = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{_port}/metrics"));
                return text.Split('\n').Any(l => l.StartsWith("leader_election_master_status{", StringComparison.Ordinal)
                    && l.TrimEnd().EndsWith(" 1", StringComparison.Ordinal));
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { return false; }
        }

        public async Task StopAsync()
        {
            if (!_process.HasExited)
            {
                Signal("TERM");
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try { await _process.WaitForExitAsync(cts.Token); }
                catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
            }
            _process.Dispose();
        }

        private static int FreePort()
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            return ((IPEndPoint)l.LocalEndpoint).Port;
        }

        public static string OperatorDll()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var dll = Path.Combine(dir.FullName, "src", "Operator", "bin", "Release", "net10.0", "ResilienceOperator.dll");
                if (File.Exists(dll)) return dll;
            }
            throw new InvalidOperationException("src/Operator/bin/Release/net10.0/ResilienceOperator.dll not found: dotnet build -c Release first");
        }
    }
}
