using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Demo;

/// <summary>
/// The second demo scenario (`bash hack/demo.sh --stateful`): two StatefulSets of a database, a
/// fault in the primary, and a failover that fences it (ScaleToZero), promotes the standby (a
/// Job), and only then switches the Service — printed as it happens, with the recorded step times.
/// </summary>
internal sealed class StatefulDemoRun
{
    private const string Ns = "demo-stateful";
    private readonly StatusWatch _watch = new();

    public async Task<int> RunAsync(CancellationToken ct)
    {
        Step("Starting the local control plane and the node simulator");
        var logFile = Path.Combine(Path.GetTempPath(), "resilience-operator-demo-stateful.log");
        using var loggers = LoggerFactory.Create(b => b.AddProvider(new FileLoggerProvider(logFile)).SetMinimumLevel(LogLevel.Information));
        await using var cluster = await LocalCluster.StartAsync(Environment.GetEnvironmentVariable("RESILIENCE_DEMO_CLUSTER") ?? "demo-stateful", loggers);
        Console.WriteLine($"  kubeconfig: {cluster.Kubeconfig}   operator log: {logFile}");
        var c = cluster.Client;
        await c.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Ns } }, cancellationToken: ct);

        Step("Creating StatefulSets pg-a (primary, 2 pods) and pg-b (replica, 2 pods), Service pg, and ResiliencePolicy pg: " +
             "kind StatefulSet, fencing Required, fence ScaleToZero, promote Job (1 s)");
        foreach (var name in new[] { "pg-a", "pg-b" })
            await c.AppsV1.CreateNamespacedStatefulSetAsync(StatefulSet(name), Ns, cancellationToken: ct);
        await c.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "pg", NamespaceProperty = Ns },
            Spec = new V1ServiceSpec
            {
                Selector = new Dictionary<string, string> { ["app"] = "pg" }, Ports = [new V1ServicePort { Port = 5432, TargetPort = 5432 }],
            },
        }, Ns, cancellationToken: ct);
        await c.CustomObjects.CreateNamespacedCustomObjectAsync(Policy(), GroupVersion.Group, GroupVersion.Version, Ns,
            ResiliencePolicy.KubePluralName, cancellationToken: ct);

        Step("Starting the operator");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var opClient = Kubernetes.ApiClient.Create(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.Kubeconfig));
        using var host = new OperatorHost(opClient, new OperatorOptions { Namespaces = [Ns], Port = 0 }, loggers);
        var opTask = Task.Run(() => host.RunAsync(stop.Token), CancellationToken.None);
        _watch.Clock.Start();
        await WatchUntilAsync(c, s => s.Ready == "True" && s.Selected == "pg-a", TimeSpan.FromSeconds(90), "policy Ready on pg-a", ct);

        Step("Injecting a fault: pg-a fails its checks but its pods stay Ready (it could still take writes: sim.resilience.dev/fault=http-fail)");
        await c.AppsV1.PatchNamespacedStatefulSetAsync(
            new V1Patch("{\"metadata\":{\"annotations\":{\"sim.resilience.dev/fault\":\"http-fail\"}}}", V1Patch.PatchType.MergePatch),
            "pg-a", Ns, cancellationToken: ct);
        await WatchUntilAsync(c, s => s.Selected == "pg-b" && s.Policy?.Status?.Failover?.Last?.To == "pg-b", TimeSpan.FromSeconds(60),
            "traffic on pg-b", ct);
        var last = (await GetPolicy(c)).Status!.Failover!.Last!;
        Console.WriteLine($"  => failover: {last.From} -> {last.To}; fenced {last.FencedAt:HH:mm:ss.fff} (pg-a scaled to 0, no ready pod), " +
                          $"promoted {last.PromotedAt:HH:mm:ss} (Job {last.PromoteJob}), Service switched {last.Time:HH:mm:ss.fff}");
        if (!(last.FencedAt <= last.PromotedAt && last.PromotedAt <= last.Time))
        {
            Console.Error.WriteLine("demo: the steps did not happen in the order fence, promote, switch");
            return 1;
        }
        Console.WriteLine("  => in order: fence -> promote -> switch (status.failover.last.fencedAt <= promotedAt <= time)");
        Console.WriteLine("  => pg-a stays at 0 replicas (status.failover.fenced) until someone rebuilds it as a replica and scales it back");

        Step("Summary");
        var (_, events) = await cluster.KubectlAsync("get", "events", "-n", Ns, "--field-selector", "involvedObject.kind=ResiliencePolicy",
            "--sort-by=.lastTimestamp", "-o", "custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message");
        Console.WriteLine(Indent(events));
        await stop.CancelAsync();
        await opTask;
        return 0;
    }

    private static V1StatefulSet StatefulSet(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Ns },
        Spec = new V1StatefulSetSpec
        {
            Replicas = 2, ServiceName = name, PodManagementPolicy = "Parallel",
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "pg", ["member"] = name } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "pg", ["member"] = name } },
                Spec = new V1PodSpec
                {
                    TerminationGracePeriodSeconds = 1,
                    Containers =
                    [
                        new V1Container
                        {
                            Name = "pg", Image = "sim/pg:1",
                            Ports = [new V1ContainerPort { ContainerPort = 5432 }, new V1ContainerPort { ContainerPort = 8008 }],
                        },
                    ],
                },
            },
        },
    };

    private static ResiliencePolicy Policy() => new()
    {
        ApiVersion = GroupVersion.ApiVersion,
        Kind = ResiliencePolicy.KubeKind,
        Metadata = new V1ObjectMeta { Name = "pg", NamespaceProperty = Ns },
        Spec = new ResiliencePolicySpec
        {
            Targets =
            [
                new TargetSpec { Name = "pg-a", Kind = WorkloadKind.StatefulSet },
                new TargetSpec { Name = "pg-b", Kind = WorkloadKind.StatefulSet, Priority = 10 },
            ],
            Service = new ServiceReference { Name = "pg" },
            HealthCheck = new HealthCheckSpec { Interval = "1s", Timeout = "500ms", Retries = 2, Http = new HttpProbeSpec { Path = "/health", Port = 8008 } },
            Failover = new FailoverSpec
            {
                Failback = FailbackMode.Manual,
                Fencing = FencingMode.Required,
                Hooks = new FailoverHooksSpec
                {
                    Fence = new FenceHookSpec { ScaleToZero = true, Timeout = "1m" },
                    Promote = new HookSpec
                    {
                        Timeout = "1m",
                        Template = new V1PodTemplateSpec
                        {
                            Metadata = new V1ObjectMeta { Annotations = new Dictionary<string, string> { ["sim.resilience.dev/duration"] = "1s" } },
                            Spec = new V1PodSpec { Containers = [new V1Container { Name = "promote", Image = "sim/pg-tools:1", Command = ["promote.sh"] }] },
                        },
                    },
                },
            },
        },
    };

    private sealed record Snapshot(string Line, string? Selected, string? Ready, ResiliencePolicy? Policy);

    private Task WatchUntilAsync(IKubernetes c, Func<Snapshot, bool> done, TimeSpan timeout, string what, CancellationToken ct) =>
        _watch.UntilAsync(() => Observe(c), s => s.Line, done, timeout, what, ct);

    private static async Task<Snapshot> Observe(IKubernetes c)
    {
        ResiliencePolicy? policy = null;
        try { policy = await GetPolicy(c); } catch (k8s.Autorest.HttpOperationException) { }
        var svc = await c.CoreV1.ReadNamespacedServiceAsync("pg", Ns);
        var selected = svc.Spec.Selector?.TryGetValue("member", out var v) == true ? v : "?";
        var parts = new List<string>();
        foreach (var name in new[] { "pg-a", "pg-b" })
        {
            var s = await c.AppsV1.ReadNamespacedStatefulSetAsync(name, Ns);
            var t = policy?.Status?.Targets?.FirstOrDefault(x => x.Name == name);
            var health = t is null ? "unchecked" : t.Healthy ? "healthy" : t.Cold == true ? "at zero" : "UNHEALTHY";
            parts.Add($"{name} {s.Status?.ReadyReplicas ?? 0}/{s.Spec.Replicas} {health,-9}");
        }
        var ready = policy?.Status?.Conditions?.FirstOrDefault(x => x.Type == "Ready");
        var step = policy?.Status?.Failover?.Pending?.Step is { } st ? $" | step {st}" : "";
        var line = $"{string.Join(" | ", parts)} | Service -> {selected,-4} | Ready={ready?.Status ?? "-"} {ready?.Reason}{step}";
        return new Snapshot(line, selected, ready?.Status, policy);
    }

    private static async Task<ResiliencePolicy> GetPolicy(IKubernetes c) => KubernetesJson.Deserialize<ResiliencePolicy>((JsonElement)
        await c.CustomObjects.GetNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, Ns, ResiliencePolicy.KubePluralName, "pg"));

    private void Step(string text)
    {
        Console.WriteLine();
        Console.WriteLine($"== [{_watch.Clock.Elapsed.TotalSeconds:0.0}s] {text}");
    }

    private static string Indent(string s) => string.Join(Environment.NewLine, s.TrimEnd().Split('\n').Select(l => "  " + l));
}
