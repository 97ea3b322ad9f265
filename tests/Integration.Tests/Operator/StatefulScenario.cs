using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Operator;

/// <summary>A primary and a standby StatefulSet, a Service, and a policy over them with fence and promote hooks.</summary>
internal static class StatefulScenario
{
    public static async Task<Scenario> CreateAsync(ClusterFixture cluster, string prefix, int replicas = 2)
    {
        var ns = await cluster.CreateNamespaceAsync(prefix);
        foreach (var name in new[] { "primary", "standby" })
            await cluster.Client.AppsV1.CreateNamespacedStatefulSetAsync(StatefulSet(name, ns, replicas), ns);
        await cluster.Client.CoreV1.CreateNamespacedServiceAsync(
            ClusterFixture.Service("checkout", ns, new Dictionary<string, string> { ["app"] = "checkout" }), ns);
        var s = new Scenario(cluster, ns);
        foreach (var name in new[] { "primary", "standby" }) await WaitForReadyAsync(s, name, replicas);
        return s;
    }

    public static V1StatefulSet StatefulSet(string name, string ns, int replicas)
    {
        var d = ClusterFixture.Deployment(name, ns, replicas, new Dictionary<string, string> { ["app"] = name });
        return new V1StatefulSet
        {
            Metadata = d.Metadata,
            Spec = new V1StatefulSetSpec
            {
                Replicas = replicas, Selector = d.Spec.Selector, Template = d.Spec.Template, ServiceName = name, PodManagementPolicy = "Parallel",
            },
        };
    }

    /// <summary>A hook Job pod template the simulator runs for <paramref name="duration"/> and ends with <paramref name="exitCode"/>.</summary>
    public static V1PodTemplateSpec Hook(string duration = "500ms", int exitCode = 0) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Annotations = new Dictionary<string, string>
            {
                ["sim.resilience.dev/duration"] = duration,
                ["sim.resilience.dev/exit-code"] = exitCode.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "hook", Image = "busybox", Command = ["sh", "-c", "echo $FROM_TARGET $TO_TARGET"] }] },
    };

    /// <summary>The policy of <see cref="Scenario.Policy"/> over the two StatefulSets, with the given hooks.</summary>
    public static ResiliencePolicy Policy(string ns, HookSpec? promote, FenceHookSpec? fence, FencingMode fencing = FencingMode.BestEffort) =>
        Scenario.Policy(ns, spec =>
        {
            foreach (var t in spec.Targets) t.Kind = WorkloadKind.StatefulSet;
            spec.Failover!.Fencing = fencing;
            spec.Failover.Hooks = new FailoverHooksSpec { Fence = fence, Promote = promote };
        });

    public static async Task SetFaultAsync(Scenario s, string name, string? fault)
    {
        var value = fault is null ? "null" : $"\"{fault}\"";
        await s.Client.AppsV1.PatchNamespacedStatefulSetAsync(
            new V1Patch("{\"metadata\":{\"annotations\":{\"" + Scenario.Fault + "\":" + value + "}}}", V1Patch.PatchType.MergePatch), name, s.Namespace);
    }

    public static Task WaitForReadyAsync(Scenario s, string name, int replicas) =>
        ClusterFixture.WaitUntilAsync(async () => (await s.Client.AppsV1.ReadNamespacedStatefulSetAsync(name, s.Namespace)).Status?.ReadyReplicas >= replicas,
            TimeSpan.FromSeconds(60), $"StatefulSet {name} has {replicas} ready replicas");

    /// <summary>The policy's hook Jobs of one kind (fence or promote).</summary>
    public static async Task<IList<V1Job>> HookJobsAsync(Scenario s, string hook) =>
        (await s.Client.BatchV1.ListNamespacedJobAsync(s.Namespace, labelSelector: $"{Labels.Hook}={hook}")).Items;

    public static Task WaitForPendingStepAsync(Scenario s, string step, TimeSpan timeout) =>
        ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Failover?.Pending?.Step == step,
            timeout, $"status.failover.pending.step is {step}");
}
