using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Operator;

/// <summary>spec.enforcement: DryRun on the local control plane: a failure is reported, nothing is changed; Enforce then acts.</summary>
[Collection("cluster")]
public sealed class DryRunTests(ClusterFixture cluster)
{
    private sealed record Snapshot(int? PrimaryReplicas, string PrimaryTemplate, int? StandbyReplicas, string StandbyTemplate, string Selector, int Pdbs);

    private static async Task<Snapshot> SnapshotAsync(Scenario s)
    {
        var primary = await s.DeploymentAsync("primary");
        var standby = await s.DeploymentAsync("standby");
        var selector = string.Join(",", (await s.SelectorAsync()).OrderBy(kv => kv.Key).Select(kv => kv.Key + "=" + kv.Value));
        var pdbs = await s.Client.CustomObjects.ListNamespacedCustomObjectAsync("policy", "v1beta1", s.Namespace, "poddisruptionbudgets");
        var pdbCount = ((System.Text.Json.JsonElement)pdbs).GetProperty("items").GetArrayLength();
        // (Not the generation: a Deployment's moves with its annotations too, and the fault is one.)
        return new Snapshot(primary.Spec.Replicas, KubernetesJson.Serialize(primary.Spec.Template), standby.Spec.Replicas, KubernetesJson.Serialize(standby.Spec.Template), selector, pdbCount);
    }

    private static bool Planned(ResiliencePolicy p, string action, string obj, string detail) =>
        p.Status?.PlannedActions?.Any(a => a.Action == action && a.Object == obj && a.Detail == detail) == true;

    [Fact(Timeout = TestDeadline.Default)]
    public async Task DryRun_PrimaryFails_NothingChangedFailoverReportedThenEnforceActs()
    {
        var s = await Scenario.CreateAsync(cluster, "dryrun");
        // The team's Service already selects the primary; the policy is adopted in DryRun first.
        await s.Client.CoreV1.PatchNamespacedServiceAsync(
            new V1Patch("""{"spec":{"selector":{"app":"primary"}}}""", V1Patch.PatchType.MergePatch), "checkout", s.Namespace);
        await s.WaitForReadyAsync("primary", 2);
        await s.WaitForReadyAsync("standby", 2);
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec =>
        {
            spec.Enforcement = EnforcementMode.DryRun;
            spec.Redundancy = new RedundancySpec { MinReplicas = 3, PodDisruptionBudget = new PodDisruptionBudgetSpec { MaxUnavailable = 1 } };
        }));
        await s.WaitForConditionAsync("Ready", "True", "DryRun");
        var before = await SnapshotAsync(s);
        Assert.Equal(new Snapshot(2, before.PrimaryTemplate, 2, before.StandbyTemplate, "app=primary", 0), before);
        Assert.DoesNotContain("resilience.dev", before.PrimaryTemplate + before.StandbyTemplate, StringComparison.Ordinal);
        var adopted = await s.GetPolicyAsync();
        Assert.True(Planned(adopted, "Scale", "Deployment/primary", "replicas 2 -> 3"), "the replica floor is a planned action");
        Assert.True(Planned(adopted, "ApplyPdb", "PodDisruptionBudget/checkout-primary", "maxUnavailable 1, selector app=primary"), "the PDB is a planned action");
        Assert.Contains("dry run: 3 planned actions, nothing enforced", adopted.Status!.Conditions!.Single(c => c.Type == "Ready").Message, StringComparison.Ordinal);

        await s.SetFaultAsync("primary", "unready");
        // Through the failure, poll: the failover is reported while nothing outside the policy moves.
        ResiliencePolicy? reported = null;
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            Assert.Equal(before, await SnapshotAsync(s));
            var p = await s.GetPolicyAsync();
            if (!Planned(p, "SteerService", "Service/checkout", "selector app=standby")) return false;
            reported = p;
            return true;
        }, TimeSpan.FromSeconds(20), "status.plannedActions lists the SteerService to the standby");
        Assert.True(Planned(reported!, "Scale", "Deployment/standby", "replicas 2 -> 3"), "the floor of the standby that would serve is planned");
        Assert.Equal(["primary"], reported!.Status!.ActiveTargets!);
        Assert.Equal(0, reported.Status.Failover?.Count ?? 0);
        Assert.Null(reported.Status.Failover?.Last);
        Assert.Equal("False", reported.Status.Conditions!.Single(c => c.Type == "FailedOver").Status);
        Assert.Equal("False", reported.Status.Conditions!.Single(c => c.Type == "Ready").Status);
        var events = await s.PolicyEventsAsync();
        Assert.Contains(events, e => e.Reason == "DryRunSteerService" && e.Type == "Normal" && e.Message.Contains("selector app=standby", StringComparison.Ordinal));
        Assert.DoesNotContain(events, e => e.Reason is "Failover" or "ScaledUp" or "TrafficSteered");
        // The failure lasts; the report stays and the cluster stays as it was, reconcile after reconcile.
        var until = DateTime.UtcNow.AddSeconds(4);
        while (DateTime.UtcNow < until)
        {
            Assert.Equal(before, await SnapshotAsync(s));
            Assert.True(Planned(await s.GetPolicyAsync(), "SteerService", "Service/checkout", "selector app=standby"), "the planned failover stays listed while the primary is down");
            await Task.Delay(500);
        }
        Assert.Single(await s.EventsOnceAsync(e => e.Reason == "DryRunSteerService"), e => e.Reason == "DryRunSteerService");

        // Switch to Enforce: the operator acts from the actual state.
        await s.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"spec":{"enforcement":"Enforce"}}""", V1Patch.PatchType.MergePatch),
            GroupVersion.Group, GroupVersion.Version, s.Namespace, ResiliencePolicy.KubePluralName, "checkout");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Failover?.Last?.Reason == "Failover",
            TimeSpan.FromSeconds(10), "the failover recorded in status");
        await ClusterFixture.WaitUntilAsync(async () => (await SnapshotAsync(s)) is { StandbyReplicas: 3, Pdbs: 2 },
            TimeSpan.FromSeconds(10), "the standby raised to minReplicas and the PDBs created");
        var enforced = await s.GetPolicyAsync();
        Assert.Equal(["standby"], enforced.Status!.ActiveTargets!);
        Assert.Equal(1, enforced.Status.Failover!.Count);
        Assert.True(enforced.Status.PlannedActions is null or { Count: 0 }, "no planned actions in Enforce");
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "Failover" && e.Type == "Warning"), e => e.Reason == "Failover" && e.Type == "Warning");
    }
}
