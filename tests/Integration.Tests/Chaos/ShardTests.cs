using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Chaos;

/// <summary>
/// Two shards as two operator processes (docs/sharding.md): each reconciles only the policies its
/// --shard-selector matches, and a policy relabelled from one to the other is handed over like
/// after a restart — no second failover, no Service write, the new shard acting from then on.
/// </summary>
[Collection("cluster")]
public sealed class ShardTests(ClusterFixture cluster)
{
    private const string ShardLabel = "resilience.dev/shard";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static OperatorProcess StartShard(ClusterFixture cluster, string leaseNamespace, string namespaces, string shard) =>
        OperatorProcess.Start(cluster.KubeconfigPath, leaseNamespace, "shard-" + shard, leaderElect: true,
            "--namespaces", namespaces, "--shard-selector", $"{ShardLabel}={shard}", "--lease-name", "resilience-operator-shard-" + shard);

    /// <summary>Series of a policy in <paramref name="ns"/> on a shard's /metrics (its gauge of Ready).</summary>
    private static async Task<int> PolicySeriesAsync(OperatorProcess shard, string ns, string policy = "checkout") =>
        await shard.SeriesAsync("resilience_policy_ready", $"namespace=\"{ns}\"", $"policy=\"{policy}\"") ?? -1;

    private static ResiliencePolicy Labelled(string ns, string shard)
    {
        var policy = Scenario.Policy(ns);
        policy.Metadata.Labels = new Dictionary<string, string> { [ShardLabel] = shard };
        return policy;
    }

    private async Task PatchPolicyAsync(Scenario s, string mergePatch) =>
        await cluster.Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(mergePatch, V1Patch.PatchType.MergePatch),
            GroupVersion.Group, GroupVersion.Version, s.Namespace, ResiliencePolicy.KubePluralName, "checkout");

    private async Task CreateBackupAsync(string ns, string name, string policy, string shardLabel) =>
        await cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(new ResilienceBackup
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = new Dictionary<string, string> { [ShardLabel] = shardLabel } },
            Spec = new ResilienceBackupSpec { Policy = policy },
        }, GroupVersion.Group, GroupVersion.Version, ns, ResilienceBackup.KubePluralName);

    /// <summary>Waits until the backup has failed and returns its status message.</summary>
    private async Task<string> FailedBackupMessageAsync(string ns, string name)
    {
        ResilienceBackup? backup = null;
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            var body = await cluster.Client.CustomObjects.GetNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, ns,
                ResilienceBackup.KubePluralName, name);
            backup = KubernetesJson.Deserialize<ResilienceBackup>((System.Text.Json.JsonElement)body);
            return backup.Status?.Phase == RunPhase.Failed;
        }, Deadline, $"backup {name} failed");
        return backup!.Status!.Message ?? "";
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task TwoShards_EachReconcilesItsOwn_RelabelHandsOverWithoutASecondFailover()
    {
        var a = await Scenario.CreateAsync(cluster, "shard-a");
        var b = await Scenario.CreateAsync(cluster, "shard-b");
        foreach (var s in new[] { a, b })
            foreach (var d in new[] { "primary", "standby" }) await s.WaitForReadyAsync(d, 2, Deadline);
        var namespaces = a.Namespace + "," + b.Namespace;
        await using var shardA = StartShard(cluster, a.Namespace, namespaces, "a");
        await using var shardB = StartShard(cluster, a.Namespace, namespaces, "b");
        await a.ApplyPolicyAsync(Labelled(a.Namespace, "a"));
        await b.ApplyPolicyAsync(Labelled(b.Namespace, "b"));
        await a.WaitForConditionAsync("Ready", "True", timeout: Deadline);
        await b.WaitForConditionAsync("Ready", "True", timeout: Deadline);

        // Each shard exports its own policy's series and never the other's: it does not even cache it.
        await ClusterFixture.WaitUntilAsync(async () => await PolicySeriesAsync(shardA, a.Namespace) == 1 && await PolicySeriesAsync(shardB, b.Namespace) == 1,
            Deadline, "each shard has the Ready series of its own policy");
        Assert.Equal(0, await PolicySeriesAsync(shardA, b.Namespace));
        Assert.Equal(0, await PolicySeriesAsync(shardB, a.Namespace));

        // A backup belongs to the shard of its policy, whatever its own labels; one whose policy exists nowhere is
        // reported by the shard its own labels select. Policy b has no backup template: only shard b can say so.
        await CreateBackupAsync(b.Namespace, "of-b", "checkout", shardLabel: "a");
        await CreateBackupAsync(a.Namespace, "of-nobody", "ghost", shardLabel: "a");
        Assert.Contains("has no spec.backup.template", await FailedBackupMessageAsync(b.Namespace, "of-b"), StringComparison.Ordinal);
        Assert.Contains("\"ghost\" not found", await FailedBackupMessageAsync(a.Namespace, "of-nobody"), StringComparison.Ordinal);

        // Policy a fails over once, under shard a; the primary stays broken.
        await a.SetFaultAsync("primary", "unready");
        await a.WaitForSelectedAsync("standby", Deadline);
        await ClusterFixture.WaitUntilAsync(async () => (await a.GetPolicyAsync()).Status is { Failover.Count: 1, ActiveTargets: ["standby"] },
            Deadline, "status records one failover to the standby");
        var service = (await cluster.Client.CoreV1.ReadNamespacedServiceAsync("checkout", a.Namespace)).Metadata.ResourceVersion;

        // Relabelled to shard b: a watch DELETED for shard a (let go, not deleted), an ADDED for shard b.
        await PatchPolicyAsync(a, "{\"metadata\":{\"labels\":{\"" + ShardLabel + "\":\"b\"}}}");
        await ClusterFixture.WaitUntilAsync(async () => await PolicySeriesAsync(shardB, a.Namespace) == 1 && await PolicySeriesAsync(shardA, a.Namespace) == 0,
            Deadline, "shard b has taken policy a over and shard a has dropped its series");
        var shardAWrites = await shardA.MetricAsync("resilience_api_writes_total");
        Assert.NotNull(shardAWrites);
        Assert.Contains(Finalizers.Policy, (await a.GetPolicyAsync()).Metadata.Finalizers ?? []); // shard a took nothing away

        // A spec change after the relabel is acted on by shard b (the status records the new generation), not by shard a.
        await PatchPolicyAsync(a, """{"spec":{"healthCheck":{"retries":3}}}""");
        var generation = (await a.GetPolicyAsync()).Metadata.Generation;
        await ClusterFixture.WaitUntilAsync(async () => (await a.GetPolicyAsync()).Status?.ObservedGeneration == generation,
            Deadline, $"the status observes generation {generation}");
        var checkedSince = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await ClusterFixture.WaitUntilAsync(async () =>
            await shardB.MetricAsync("resilience_health_check_last_timestamp_seconds", $"namespace=\"{a.Namespace}\"") > checkedSince,
            Deadline, "shard b probes policy a");
        Assert.Equal(shardAWrites, await shardA.MetricAsync("resilience_api_writes_total"));
        Assert.Equal(0, await shardA.SeriesAsync("resilience_health_check_last_timestamp_seconds", $"namespace=\"{a.Namespace}\""));

        // One failover, before the handover and never again: same count, same Service, one event.
        var status = (await a.GetPolicyAsync()).Status!;
        Assert.Equal(1, status.Failover?.Count);
        Assert.Equal(["standby"], status.ActiveTargets!);
        Assert.Equal(service, (await cluster.Client.CoreV1.ReadNamespacedServiceAsync("checkout", a.Namespace)).Metadata.ResourceVersion);
        Assert.Equal(1, (await a.PolicyEventsAsync()).Where(e => e.Reason == "Failover").Sum(e => e.Count ?? 1));
        // Policy b was never touched by the handover: still shard b's, still Ready.
        Assert.Equal("True", (await b.ConditionAsync("Ready"))?.Status);
        Assert.Equal(0, await PolicySeriesAsync(shardA, b.Namespace));
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task TwoShards_PoliciesOnOneService_TheSecondIsToldNotToSteerIt()
    {
        var s = await Scenario.CreateAsync(cluster, "shard-svc");
        foreach (var d in new[] { "primary", "standby" }) await s.WaitForReadyAsync(d, 2, Deadline);
        await using var shardA = StartShard(cluster, s.Namespace, s.Namespace, "a");
        await using var shardB = StartShard(cluster, s.Namespace, s.Namespace, "b");
        var first = Labelled(s.Namespace, "a");
        first.Metadata.Name = "first";
        await s.ApplyPolicyAsync(first);
        await s.WaitForConditionAsync("Ready", "True", timeout: Deadline, name: "first");
        var service = (await cluster.Client.CoreV1.ReadNamespacedServiceAsync("checkout", s.Namespace)).Metadata.ResourceVersion;

        // Shard b does not cache "first", but the Service says who steers it.
        var second = Labelled(s.Namespace, "b");
        second.Metadata.Name = "second";
        await s.ApplyPolicyAsync(second);
        await s.WaitForConditionAsync("Ready", "False", "InvalidSpec", Deadline, name: "second");
        Assert.Contains("already steered by ResiliencePolicy \"first\"", (await s.ConditionAsync("Ready", "second"))!.Message, StringComparison.Ordinal);
        Assert.Equal(service, (await cluster.Client.CoreV1.ReadNamespacedServiceAsync("checkout", s.Namespace)).Metadata.ResourceVersion);
        Assert.Equal(0, await PolicySeriesAsync(shardA, s.Namespace, "second"));
    }
}
