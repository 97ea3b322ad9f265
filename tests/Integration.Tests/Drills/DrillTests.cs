using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Drills;

/// <summary>ResilienceDrill on the local control plane: pass, fail, abort by each guard rail, deletion, schedule.</summary>
[Collection("cluster")]
public sealed class DrillTests(ClusterFixture cluster)
{
    private const string DrillAnnotation = "resilience.dev/drill";
    private const string ReplicasAnnotation = "resilience.dev/drill-replicas";

    private async Task<(Scenario, OperatorRunner)> StartAsync(string prefix, string rto = "20s", bool singleTarget = false, Action<ResiliencePolicySpec>? configure = null)
    {
        var s = await Scenario.CreateAsync(cluster, prefix);
        await s.WaitForReadyAsync("primary", 2);
        var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec =>
        {
            spec.Objectives = new ObjectivesSpec { Rto = rto };
            if (singleTarget) spec.Targets = [new TargetSpec { Name = "primary" }];
            configure?.Invoke(spec);
        }));
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
        await s.WaitForConditionAsync("Ready", "True");
        return (s, op);
    }

    private static async Task CreateDrillAsync(Scenario s, string name, DrillAction action, int maxUnavailable = 1)
    {
        var drill = new ResilienceDrill
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = s.Namespace },
            Spec = new ResilienceDrillSpec { Policy = "checkout", Action = action, MaxUnavailable = maxUnavailable },
        };
        await s.Client.CustomObjects.CreateNamespacedCustomObjectAsync(drill, GroupVersion.Group, GroupVersion.Version, s.Namespace, ResilienceDrill.KubePluralName);
    }

    private static async Task<ResilienceDrill> DrillAsync(Scenario s, string name)
    {
        var body = await s.Client.CustomObjects.GetNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, s.Namespace, ResilienceDrill.KubePluralName, name);
        return KubernetesJson.Deserialize<ResilienceDrill>((JsonElement)body);
    }

    private static async Task<List<ResilienceDrill>> DrillsAsync(Scenario s)
    {
        var body = await s.Client.CustomObjects.ListNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, s.Namespace, ResilienceDrill.KubePluralName);
        return [.. KubernetesJson.Deserialize<ResilienceDrillList>((JsonElement)body).Items];
    }

    private static async Task<ResilienceDrill> WaitForPhaseAsync(Scenario s, string name, DrillPhase phase, double seconds)
    {
        ResilienceDrill? last = null;
        await ClusterFixture.WaitUntilAsync(async () => (last = await DrillAsync(s, name)).Status?.Phase == phase,
            TimeSpan.FromSeconds(seconds), $"drill {name} phase {phase} (last: {last?.Status?.Phase} {last?.Status?.Message})");
        return last!;
    }

    private static async Task WaitForFaultRemovedAsync(Scenario s, int replicas)
    {
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            var d = await s.DeploymentAsync("primary");
            return d.Spec.Replicas == replicas && d.Metadata.Annotations?.ContainsKey(DrillAnnotation) != true && d.Metadata.Annotations?.ContainsKey(ReplicasAnnotation) != true;
        }, TimeSpan.FromSeconds(10), $"primary back at {replicas} replicas without the drill annotations");
    }

    /// <summary>The policy's status.lastDrill once it names <paramref name="drill"/> (written just after the drill's own status).</summary>
    private static async Task<DrillRecord> LastDrillAsync(Scenario s, string drill)
    {
        DrillRecord? last = null;
        await ClusterFixture.WaitUntilAsync(async () => (last = (await s.GetPolicyAsync()).Status?.LastDrill)?.Name == drill,
            TimeSpan.FromSeconds(5), $"policy status.lastDrill names {drill}");
        return last!;
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task KillPods_PolicyRecovers_PassedWithRtoOnDrillAndPolicy()
    {
        var (s, op) = await StartAsync("drill-kill");
        await using var _ = op;
        var before = (await s.Client.CoreV1.ListNamespacedPodAsync(s.Namespace, labelSelector: "app=primary")).Items.Select(p => p.Metadata.Name).ToHashSet();
        await CreateDrillAsync(s, "kill", DrillAction.KillPods);
        var drill = await WaitForPhaseAsync(s, "kill", DrillPhase.Passed, 25);
        var status = drill.Status!;
        Assert.Equal("primary", status.Target);
        var killed = Assert.Single(status.Pods!);
        Assert.Contains(killed, before);
        Assert.NotNull(status.InjectedAt);
        Assert.NotNull(status.RecoveredAt);
        Assert.InRange(status.RtoSeconds!.Value, 0.001, 20);
        Assert.Equal(20, status.RtoObjectiveSeconds);
        Assert.Equal("True", status.Conditions!.Single(c => c.Type == "Succeeded").Status);
        await ClusterFixture.WaitUntilAsync(async () => (await DrillAsync(s, "kill")).Metadata.Finalizers?.Contains("resilience.dev/drill") != true,
            TimeSpan.FromSeconds(5), "the finalizer goes once the drill ended");
        var last = await LastDrillAsync(s, "kill");
        Assert.Equal(("Passed", status.RtoSeconds), (last.Result, last.RtoSeconds));
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "DrillPassed" && e.Type == "Normal", "ResilienceDrill"), e => e.Reason == "DrillPassed" && e.Type == "Normal");
        // the policy reconciler keeps lastDrill through its own status writes
        await s.WaitForConditionAsync("Ready", "True");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal("kill", (await s.GetPolicyAsync()).Status!.LastDrill?.Name);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task FailTarget_Primary_FailsOverPassesAndReplicasRestored()
    {
        var (s, op) = await StartAsync("drill-fail");
        await using var _ = op;
        await CreateDrillAsync(s, "fail", DrillAction.FailTarget);
        var drill = await WaitForPhaseAsync(s, "fail", DrillPhase.Passed, 25);
        Assert.Equal("primary", drill.Status!.Target);
        Assert.InRange(drill.Status.RtoSeconds!.Value, 0.001, 20);
        var policy = (await s.GetPolicyAsync()).Status!;
        Assert.Equal("Failover", policy.Failover!.Last!.Reason);
        Assert.Equal("Passed", (await LastDrillAsync(s, "fail")).Result);
        // the fault is undone: primary gets its replicas back, and traffic returns after failbackDelay
        await WaitForFaultRemovedAsync(s, 2);
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task FailTarget_NoStandby_FailedWhenRtoRunsOutAndFaultRemoved()
    {
        var (s, op) = await StartAsync("drill-norecover", rto: "5s", singleTarget: true);
        await using var _ = op;
        await CreateDrillAsync(s, "doomed", DrillAction.FailTarget);
        await ClusterFixture.WaitUntilAsync(async () => (await s.DeploymentAsync("primary")).Spec.Replicas == 0, TimeSpan.FromSeconds(5), "primary scaled to zero");
        Assert.Equal("doomed", (await s.DeploymentAsync("primary")).Metadata.Annotations![DrillAnnotation]);
        // the replica floor does not fight the drill
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(0, (await s.DeploymentAsync("primary")).Spec.Replicas);
        var drill = await WaitForPhaseAsync(s, "doomed", DrillPhase.Failed, 12);
        Assert.Null(drill.Status!.RtoSeconds);
        Assert.Contains("RTO", drill.Status.Message, StringComparison.Ordinal);
        Assert.Equal("RtoExceeded", drill.Status.Conditions!.Single(c => c.Type == "Succeeded").Reason);
        var elapsed = drill.Status.Conditions!.Single(c => c.Type == "Succeeded").LastTransitionTime - drill.Status.InjectedAt;
        Assert.InRange(elapsed!.Value.TotalSeconds, 4, 8);
        await WaitForFaultRemovedAsync(s, 2);
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(15));
        Assert.Equal("Failed", (await LastDrillAsync(s, "doomed")).Result);
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "DrillFailed" && e.Type == "Warning", "ResilienceDrill"), e => e.Reason == "DrillFailed" && e.Type == "Warning");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Guard_PolicyNotReady_AbortedAndNothingInjected()
    {
        var (s, op) = await StartAsync("drill-notready", singleTarget: true);
        await using var _ = op;
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForConditionAsync("Ready", "False");
        await CreateDrillAsync(s, "refused", DrillAction.FailTarget);
        var drill = await WaitForPhaseAsync(s, "refused", DrillPhase.Aborted, 10);
        Assert.Contains("not Ready", drill.Status!.Message, StringComparison.Ordinal);
        Assert.Equal("PolicyNotReady", drill.Status.Conditions!.Single(c => c.Type == "Succeeded").Reason);
        Assert.Null(drill.Status.InjectedAt);
        Assert.Empty(drill.Metadata.Finalizers ?? []);
        var primary = await s.DeploymentAsync("primary");
        Assert.Equal(2, primary.Spec.Replicas);
        Assert.True(primary.Metadata.Annotations?.ContainsKey(DrillAnnotation) != true);
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "DrillAborted" && e.Type == "Warning", "ResilienceDrill"), e => e.Reason == "DrillAborted" && e.Type == "Warning");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Guard_FailedOver_Aborted()
    {
        var (s, op) = await StartAsync("drill-failedover");
        await using var _ = op;
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForConditionAsync("FailedOver", "True", timeout: TimeSpan.FromSeconds(15));
        await CreateDrillAsync(s, "refused", DrillAction.KillPods);
        var drill = await WaitForPhaseAsync(s, "refused", DrillPhase.Aborted, 10);
        Assert.Equal("FailedOver", drill.Status!.Conditions!.Single(c => c.Type == "Succeeded").Reason);
        Assert.Contains("failed over", drill.Status.Message, StringComparison.Ordinal);
        Assert.Null(drill.Status.Pods);
        Assert.Equal("Aborted", (await LastDrillAsync(s, "refused")).Result);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Guard_AnotherDrillRunning_AbortedThenDeletingTheRunningOneRemovesItsFault()
    {
        var (s, op) = await StartAsync("drill-twice", rto: "30s", singleTarget: true);
        await using var _ = op;
        await CreateDrillAsync(s, "first", DrillAction.FailTarget);
        await WaitForPhaseAsync(s, "first", DrillPhase.Running, 10);
        await CreateDrillAsync(s, "second", DrillAction.KillPods);
        var second = await WaitForPhaseAsync(s, "second", DrillPhase.Aborted, 10);
        Assert.Equal("AnotherDrillRunning", second.Status!.Conditions!.Single(c => c.Type == "Succeeded").Reason);
        Assert.Contains("\"first\"", second.Status.Message, StringComparison.Ordinal);
        Assert.Equal(DrillPhase.Running, (await DrillAsync(s, "first")).Status!.Phase);
        Assert.Equal(0, (await s.DeploymentAsync("primary")).Spec.Replicas);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Delete_RunningDrill_RemovesItsFault()
    {
        var (s, op) = await StartAsync("drill-delete", rto: "30s", singleTarget: true);
        await using var _ = op;
        await CreateDrillAsync(s, "interrupted", DrillAction.FailTarget);
        var running = await WaitForPhaseAsync(s, "interrupted", DrillPhase.Running, 10);
        Assert.Contains("resilience.dev/drill", running.Metadata.Finalizers!);
        await ClusterFixture.WaitUntilAsync(async () => (await s.DeploymentAsync("primary")).Spec.Replicas == 0, TimeSpan.FromSeconds(5), "primary scaled to zero");
        await s.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, s.Namespace, ResilienceDrill.KubePluralName, "interrupted");
        await WaitForFaultRemovedAsync(s, 2);
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            try { await DrillAsync(s, "interrupted"); return false; }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { return true; }
        }, TimeSpan.FromSeconds(10), "the drill is gone once its fault is removed");
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(15));
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "DrillAborted" && e.Message.Contains("deleted while running", StringComparison.Ordinal)), e => e.Reason == "DrillAborted" && e.Message.Contains("deleted while running", StringComparison.Ordinal));
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Schedule_CreatesOwnedDrillPerSlotThatPasses()
    {
        var (s, op) = await StartAsync("drill-schedule", configure: spec => spec.Drills = new DrillsSpec { Schedule = "*/10 * * * * *", Action = DrillAction.KillPods });
        await using var _ = op;
        ResilienceDrill? passed = null;
        await ClusterFixture.WaitUntilAsync(async () => (passed = (await DrillsAsync(s)).FirstOrDefault(d => d.Status?.Phase == DrillPhase.Passed)) is not null,
            TimeSpan.FromSeconds(30), "a scheduled drill passed");
        Assert.Matches("^checkout-drill-[0-9]{14}$", passed!.Metadata.Name);
        Assert.EndsWith("0", passed.Metadata.Name, StringComparison.Ordinal); // a */10 slot
        Assert.Equal("checkout", passed.Metadata.Labels!["resilience.dev/policy"]);
        var owner = Assert.Single(passed.Metadata.OwnerReferences!);
        Assert.Equal(("ResiliencePolicy", "checkout", true), (owner.Kind, owner.Name, owner.Controller == true));
        var all = await DrillsAsync(s);
        Assert.Equal(all.Count, all.Select(d => d.Metadata.Name).Distinct().Count());
    }
}
