using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;

namespace ResilienceOperator.Demo;

/// <summary>
/// Measures on the local control plane and prints figures: failover latency over repeated
/// runs, API writes per minute with healthy policies at rest, and memory with many policies.
/// </summary>
internal sealed class Benchmark(string[] args)
{
    private int Arg(string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var runs = Arg("--runs", 20);
        var policies = Arg("--policies", 100);
        var restMinutes = Arg("--rest-seconds", 60) / 60.0;
        var logFile = Path.Combine(Path.GetTempPath(), "resilience-operator-bench.log");
        using var loggers = LoggerFactory.Create(b => b.AddProvider(new FileLoggerProvider(logFile)).SetMinimumLevel(LogLevel.Information));
        Console.WriteLine($"starting the local control plane (log: {logFile})");
        await using var cluster = await LocalCluster.StartAsync("bench", loggers);
        var c = cluster.Client;

        using var opClient = Kubernetes.ApiClient.Create(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.Kubeconfig));
        using var stop = new CancellationTokenSource();
        using var host = new OperatorHost(opClient, new OperatorOptions { Port = 0, Workers = 4 }, loggers);
        var op = Task.Run(() => host.RunAsync(stop.Token), CancellationToken.None);
        while (!host.IsLeading) await Task.Delay(50, ct);

        if (runs > 0) await FailoverLatencyAsync(c, runs, ct);
        if (policies > 0) await WritesAtRestAsync(c, policies, restMinutes, ct);

        await stop.CancelAsync();
        await op;
        return 0;
    }

    private static async Task FailoverLatencyAsync(IKubernetes c, int runs, CancellationToken ct)
    {
        const string ns = "bench-failover";
        await CreateGroupAsync(c, ns, "app", replicas: 2, interval: "1s", retries: 2, failbackDelay: "1s");
        await WaitAsync(async () => await Selected(c, ns, "app") == "app-primary" && await ReadyAsync(c, ns, "app"), TimeSpan.FromSeconds(60), ct);
        var wall = new List<double>();
        var recorded = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            await Fault(c, ns, "app-primary", "\"unready\"");
            await WaitAsync(async () => await Selected(c, ns, "app") == "app-standby", TimeSpan.FromSeconds(30), ct);
            wall.Add(sw.Elapsed.TotalSeconds);
            // The Service moves first; the failover record lands with the next status write.
            ResilienceOperator.Entities.FailoverRecord? last = null;
            await WaitAsync(async () =>
            {
                var f = (await GetPolicy(c, ns, "app")).Status?.Failover;
                last = f?.Count == i + 1 ? f.Last : null;
                return last?.Reason == "Failover";
            }, TimeSpan.FromSeconds(10), ct);
            recorded.Add((last!.DetectionSeconds ?? 0) + (last.SwitchSeconds ?? 0));
            await Fault(c, ns, "app-primary", "null");
            await WaitAsync(async () => await Selected(c, ns, "app") == "app-primary", TimeSpan.FromSeconds(30), ct);
            Console.Write($"\rfailover run {i + 1}/{runs}: {wall[^1]:0.00}s   ");
        }
        Console.WriteLine();
        var bound = 1.0 * 2;
        Console.WriteLine($"failover latency over {runs} runs (interval 1s, retries 2; fault injected -> Service selector switched, wall clock):");
        Console.WriteLine($"  median {Percentile(wall, 50):0.00}s  p95 {Percentile(wall, 95):0.00}s  min {wall.Min():0.00}s  max {wall.Max():0.00}s");
        Console.WriteLine($"  ratio to interval x retries ({bound:0}s): median {Percentile(wall, 50) / bound:0.00}, " +
                          $"p95 {Percentile(wall, 95) / bound:0.00}; bound interval x retries + 2s = {bound + 2:0}s");
        Console.WriteLine($"  as recorded in status (detection + switch): median {Percentile(recorded, 50):0.00}s  p95 {Percentile(recorded, 95):0.00}s");
    }

    private static async Task WritesAtRestAsync(IKubernetes c, int count, double minutes, CancellationToken ct)
    {
        const string ns = "bench-rest";
        var sw = Stopwatch.StartNew();
        await c.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: ct);
        for (var i = 0; i < count; i++)
            await CreateGroupAsync(c, ns, $"p{i:000}", replicas: 1, interval: "2s", retries: 2, failbackDelay: "10s", createNamespace: false);
        await WaitAsync(async () =>
        {
            var list = await ListPolicies(c, ns);
            return list.Count == count && list.All(p => p.Status?.Conditions?.Any(x => x.Type == "Ready" && x.Status == "True") == true);
        }, TimeSpan.FromMinutes(5), ct);
        Console.WriteLine($"{count} policies (200 Deployments, {count} Services) Ready in {sw.Elapsed.TotalSeconds:0.0}s");
        // At rest means converged: a policy whose primary passed its first checks after the standby's
        // serves from the standby first and fails back after failbackDelay; that is not rest.
        await WaitAsync(async () => (await ListPolicies(c, ns)).All(p => p.Status?.Conditions?.Any(x => x.Type == "FailedOver" && x.Status == "False") == true),
            TimeSpan.FromMinutes(2), ct);
        Console.WriteLine($"{count} policies on their preferred target in {sw.Elapsed.TotalSeconds:0.0}s");
        await Task.Delay(TimeSpan.FromSeconds(5), ct); // let the last status writes land
        var before = ClusterWriter.TotalWrites;
        var byResource = ClusterWriter.WritesByResource();
        var window = TimeSpan.FromMinutes(minutes);
        await Task.Delay(window, ct);
        var writes = ClusterWriter.TotalWrites - before;
        Console.WriteLine($"API writes with {count} healthy policies at rest: {writes} in {window.TotalSeconds:0}s = " +
                          $"{writes / window.TotalMinutes:0.0} per minute (target 0)");
        foreach (var (what, n) in ClusterWriter.WritesByResource())
            if (n - byResource.GetValueOrDefault(what) is > 0 and var d) Console.WriteLine($"  {d} x {what}");
    }

    private static async Task CreateGroupAsync(IKubernetes c, string ns, string name, int replicas, string interval, int retries,
        string failbackDelay, bool createNamespace = true)
    {
        if (createNamespace) await c.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        foreach (var role in new[] { "primary", "standby" })
        {
            var labels = new Dictionary<string, string> { ["app"] = $"{name}-{role}" };
            await c.AppsV1.CreateNamespacedDeploymentAsync(new V1Deployment
            {
                Metadata = new V1ObjectMeta { Name = $"{name}-{role}" },
                Spec = new V1DeploymentSpec
                {
                    Replicas = replicas,
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
            }, ns);
        }
        await c.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1ServiceSpec
            {
                Selector = new Dictionary<string, string> { ["app"] = $"{name}-primary" },
                Ports = [new V1ServicePort { Port = 80, TargetPort = 8080 }],
            },
        }, ns);
        await CreatePolicyAsync(c, ns, name, name, name, interval, retries, failbackDelay);
    }

    private static Task CreatePolicyAsync(IKubernetes c, string ns, string name, string group, string service, string interval, int retries,
        string failbackDelay) =>
        c.CustomObjects.CreateNamespacedCustomObjectAsync(new ResiliencePolicy
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            Spec = new ResiliencePolicySpec
            {
                Targets = [new TargetSpec { Name = $"{group}-primary", Priority = 0 }, new TargetSpec { Name = $"{group}-standby", Priority = 10 }],
                Service = new ServiceReference { Name = service },
                HealthCheck = new HealthCheckSpec
                {
                    Interval = interval, Timeout = "500ms", Retries = retries, Http = new HttpProbeSpec { Path = "/healthz", Port = 8080 },
                },
                Failover = new FailoverSpec { FailbackDelay = failbackDelay, CircuitBreaker = new CircuitBreakerSpec { MaxFailovers = 100 } },
            },
        }, GroupVersion.Group, GroupVersion.Version, ns, ResiliencePolicy.KubePluralName);

    private static async Task<ResiliencePolicy> GetPolicy(IKubernetes c, string ns, string name) => KubernetesJson.Deserialize<ResiliencePolicy>((JsonElement)
        await c.CustomObjects.GetNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, ns, ResiliencePolicy.KubePluralName, name));

    private static async Task<IList<ResiliencePolicy>> ListPolicies(IKubernetes c, string ns) => KubernetesJson.Deserialize<ResiliencePolicyList>((JsonElement)
        await c.CustomObjects.ListNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, ns, ResiliencePolicy.KubePluralName)).Items;

    private static async Task<bool> ReadyAsync(IKubernetes c, string ns, string name) =>
        (await GetPolicy(c, ns, name)).Status?.Conditions?.Any(x => x.Type == "Ready" && x.Status == "True") == true;

    private static async Task<string?> Selected(IKubernetes c, string ns, string service) =>
        (await c.CoreV1.ReadNamespacedServiceAsync(service, ns)).Spec.Selector?.TryGetValue("app", out var v) == true ? v : null;

    private static Task Fault(IKubernetes c, string ns, string deployment, string value) =>
        c.AppsV1.PatchNamespacedDeploymentAsync(
            new V1Patch("{\"metadata\":{\"annotations\":{\"sim.resilience.dev/fault\":" + value + "}}}", V1Patch.PatchType.MergePatch),
            deployment, ns);

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"benchmark step did not finish within {timeout}");
            await Task.Delay(50, ct);
        }
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        var rank = (p / 100.0) * (sorted.Count - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}
