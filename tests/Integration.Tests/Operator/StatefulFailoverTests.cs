using System.Text.Json;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Operator;

/// <summary>StatefulSet targets: fence the failed primary, promote the standby, then switch the Service.</summary>
[Collection("cluster")]
public sealed class StatefulFailoverTests(ClusterFixture cluster)
{
    private async Task<(Scenario, OperatorRunner)> StartAsync(string prefix, ResiliencePolicy policy)
    {
        var s = await StatefulScenario.CreateAsync(cluster, prefix);
        var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(policy);
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(30));
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30));
        return (s, op);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task StatefulSetPair_Failover_FencesThenPromotesThenSwitches()
    {
        var policy = StatefulScenario.Policy("", promote: new HookSpec { Template = StatefulScenario.Hook("1s") },
            fence: new FenceHookSpec { Template = StatefulScenario.Hook("1s") });
        var (s, op) = await StartAsync("sts-order", policy);
        await using var _ = op;

        await StatefulScenario.SetFaultAsync(s, "primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(60));
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Failover?.Last?.Reason == "Failover",
            TimeSpan.FromSeconds(20), "the failover recorded in status");

        var last = (await s.GetPolicyAsync()).Status!.Failover!.Last!;
        var fence = Assert.Single(await StatefulScenario.HookJobsAsync(s, "fence"));
        var promote = Assert.Single(await StatefulScenario.HookJobsAsync(s, "promote"));
        Assert.Equal((fence.Metadata.Name, promote.Metadata.Name), (last.FenceJob, last.PromoteJob));
        // Order: the fence finished before the promote Job was even made, and both before the switch.
        Assert.NotNull(fence.Status.CompletionTime);
        Assert.NotNull(promote.Status.CompletionTime);
        Assert.True(fence.Status.CompletionTime <= promote.Metadata.CreationTimestamp,
            $"promote Job created at {promote.Metadata.CreationTimestamp:O}, before the fence completed at {fence.Status.CompletionTime:O}");
        Assert.True(last.FencedAt <= last.PromotedAt && last.PromotedAt <= last.Time,
            $"fenced {last.FencedAt:O}, promoted {last.PromotedAt:O}, switched {last.Time:O}");
        Assert.True(promote.Status.CompletionTime <= last.Time.AddSeconds(1), "the Service switched before the promote completed");
        // The hooks know which way traffic goes, and belong to the policy.
        var env = promote.Spec.Template.Spec.Containers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal(("primary", "standby", "checkout"), (env["FROM_TARGET"], env["TO_TARGET"], env["POLICY_NAME"]));
        Assert.Equal("ResiliencePolicy", Assert.Single(fence.Metadata.OwnerReferences).Kind);
        var events = await s.EventsOnceAsync(e => e.Reason == "Failover");
        Assert.Contains(events, e => e.Reason == "FailoverStarted");

        // Failback runs the same hooks the other way: fence the standby, promote the primary, switch back.
        await StatefulScenario.SetFaultAsync(s, "primary", null);
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(60));
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Failover?.Last?.Reason == "Failback",
            TimeSpan.FromSeconds(20), "the failback recorded in status");
        var back = (await s.GetPolicyAsync()).Status!.Failover!.Last!;
        Assert.True(back.FencedAt <= back.PromotedAt && back.PromotedAt <= back.Time, $"fenced {back.FencedAt:O}, promoted {back.PromotedAt:O}, switched {back.Time:O}");
        var fenceBack = (await StatefulScenario.HookJobsAsync(s, "fence")).Single(j => j.Metadata.Name == back.FenceJob);
        Assert.Equal("standby", fenceBack.Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == "FROM_TARGET").Value);
        // The failover's hook Jobs are cleaned up once a later switch is recorded.
        await ClusterFixture.WaitUntilAsync(async () => (await StatefulScenario.HookJobsAsync(s, "fence")).All(j => j.Metadata.Name != fence.Metadata.Name),
            TimeSpan.FromSeconds(20), "the failover's fence Job deleted");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task TargetOfTheWrongKind_InvalidSpecNamingTheField()
    {
        var s = await StatefulScenario.CreateAsync(cluster, "sts-kind", replicas: 1);
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace)); // targets default to kind Deployment
        await s.WaitForConditionAsync("Ready", "False", "InvalidSpec", TimeSpan.FromSeconds(30));
        var ready = await s.ConditionAsync("Ready");
        Assert.StartsWith("spec.targets[0].kind: \"primary\" is a StatefulSet, not a Deployment", ready!.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task PromoteFails_TrafficStaysOnPrimary_ReadyFalseAndEvent()
    {
        var policy = StatefulScenario.Policy("", promote: new HookSpec { Template = StatefulScenario.Hook("300ms", exitCode: 1) },
            fence: new FenceHookSpec { Template = StatefulScenario.Hook("300ms") });
        var (s, op) = await StartAsync("sts-promote-fail", policy);
        await using var _ = op;

        await StatefulScenario.SetFaultAsync(s, "primary", "unready");
        await s.WaitForConditionAsync("Ready", "False", "PromoteFailed", TimeSpan.FromSeconds(60));
        var status = (await s.GetPolicyAsync()).Status!;
        Assert.Equal("Promote", status.Failover!.Pending!.FailedStep);
        Assert.Equal(0, status.Failover.Count);
        Assert.Null(status.Failover.Last);
        Assert.Equal("primary", await s.SelectedAppAsync());
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "PromoteFailed" && e.Type == "Warning"),
            e => e.Reason == "PromoteFailed" && e.Message.Contains("traffic stays on primary", StringComparison.Ordinal));
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task FencingRequired_FenceFails_NoTrafficMovesAndNoPromote()
    {
        var policy = StatefulScenario.Policy("", promote: new HookSpec { Template = StatefulScenario.Hook("300ms") },
            fence: new FenceHookSpec { Template = StatefulScenario.Hook("300ms", exitCode: 1) }, fencing: FencingMode.Required);
        var (s, op) = await StartAsync("sts-fence-req", policy);
        await using var _ = op;

        // http-fail: the primary's pods stay Ready (it could take writes) but fail the probes.
        await StatefulScenario.SetFaultAsync(s, "primary", "http-fail");
        await s.WaitForConditionAsync("Ready", "False", "FenceFailed", TimeSpan.FromSeconds(60));
        var status = (await s.GetPolicyAsync()).Status!;
        Assert.Equal("Fence", status.Failover!.Pending!.FailedStep);
        Assert.Null(status.Failover.Pending.FencedAt);
        Assert.Equal(0, status.Failover.Count);
        Assert.Equal("primary", await s.SelectedAppAsync());
        Assert.Empty(await StatefulScenario.HookJobsAsync(s, "promote"));
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "FenceFailed" && e.Type == "Warning"), e => e.Reason == "FenceFailed");
        // The stopped failover counts for the circuit breaker.
        Assert.Single(status.Failover.RecentFailovers!);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task FailTargetDrill_OnAStatefulSet_RunsFenceAndPromote_ThenScalesItBack()
    {
        var policy = StatefulScenario.Policy("", promote: new HookSpec { Template = StatefulScenario.Hook("300ms") },
            fence: new FenceHookSpec { Template = StatefulScenario.Hook("300ms") });
        policy.Spec.Objectives = new ObjectivesSpec { Rto = "30s" };
        var (s, op) = await StartAsync("sts-drill", policy);
        await using var _ = op;

        var drill = new ResilienceDrill
        {
            Metadata = new V1ObjectMeta { Name = "game-day", NamespaceProperty = s.Namespace },
            Spec = new ResilienceDrillSpec { Policy = "checkout", Action = DrillAction.FailTarget, MaxUnavailable = 1 },
        };
        await s.Client.CustomObjects.CreateNamespacedCustomObjectAsync(drill, GroupVersion.Group, GroupVersion.Version, s.Namespace,
            ResilienceDrill.KubePluralName);
        ResilienceDrill? seen = null;
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            var body = await s.Client.CustomObjects.GetNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, s.Namespace,
                ResilienceDrill.KubePluralName, "game-day");
            seen = KubernetesJson.Deserialize<ResilienceDrill>((JsonElement)body);
            return seen.Status?.Phase is DrillPhase.Passed or DrillPhase.Failed or DrillPhase.Aborted;
        }, TimeSpan.FromSeconds(90), "the drill's verdict");
        Assert.True(seen!.Status!.Phase == DrillPhase.Passed, $"{seen.Status.Phase}: {seen.Status.Message}");

        // The drill's failover went through the hooks, in order.
        Assert.Equal("standby", await s.SelectedAppAsync());
        var last = (await s.GetPolicyAsync()).Status!.Failover!.Last!;
        Assert.Equal(("primary", "standby"), (last.From, last.To));
        Assert.True(last.FencedAt <= last.PromotedAt && last.PromotedAt <= last.Time, $"fenced {last.FencedAt:O}, promoted {last.PromotedAt:O}, switched {last.Time:O}");
        Assert.Single(await StatefulScenario.HookJobsAsync(s, "fence"));
        Assert.Single(await StatefulScenario.HookJobsAsync(s, "promote"));
        // The StatefulSet the drill scaled to zero gets its replicas back.
        await ClusterFixture.WaitUntilAsync(async () => (await s.Client.AppsV1.ReadNamespacedStatefulSetAsync("primary", s.Namespace)).Spec.Replicas == 2,
            TimeSpan.FromSeconds(30), "the drilled StatefulSet scaled back to 2");
    }
}
