using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Operator;

/// <summary>Active-passive failover, failback and the circuit breaker on the local control plane.</summary>
[Collection("cluster")]
public sealed class FailoverTests(ClusterFixture cluster)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1 * 2 + 2); // interval × retries + 2 s

    private async Task<(Scenario, OperatorRunner)> StartAsync(string prefix, Action<ResiliencePolicySpec>? configure = null, int standbyReplicas = 2)
    {
        var s = await Scenario.CreateAsync(cluster, prefix, standbyReplicas: standbyReplicas);
        await s.WaitForReadyAsync("primary", 2);
        var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, configure));
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
        await s.WaitForConditionAsync("Ready", "True");
        return (s, op);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Failover_PrimaryUnready_SelectorSwitchedWithinBound()
    {
        var (s, op) = await StartAsync("fo-unready");
        await using var _ = op;
        await s.SetFaultAsync("primary", "unready");
        var took = await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
        Assert.True(took <= Bound, $"switch took {took.TotalSeconds:0.00}s, bound {Bound.TotalSeconds}s");
        await s.WaitForConditionAsync("FailedOver", "True");
        var status = (await s.GetPolicyAsync()).Status!;
        Assert.Equal(["standby"], status.ActiveTargets!);
        Assert.Equal(1, status.Failover!.Count);
        Assert.Equal(("primary", "standby", "Failover"), (status.Failover.Last!.From, status.Failover.Last.To, status.Failover.Last.Reason));
        Assert.NotNull(status.Failover.Last.DetectionSeconds);
        Assert.False(status.Targets!.Single(t => t.Name == "primary").Healthy);
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "Failover" && e.Type == "Warning"), e => e.Reason == "Failover" && e.Type == "Warning");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Failover_HttpFailWhilePodsStayReady_DetectedByProbes()
    {
        var (s, op) = await StartAsync("fo-http");
        await using var _ = op;
        await s.SetFaultAsync("primary", "http-fail");
        var took = await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
        Assert.True(took <= Bound, $"switch took {took.TotalSeconds:0.00}s, bound {Bound.TotalSeconds}s");
        // the pods never stopped being Ready: only the active probes saw the failure
        Assert.Equal(2, (await s.DeploymentAsync("primary")).Status.ReadyReplicas);
        // The status records the verdict right after the Service patch and its events, not at the same instant.
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Failover?.Last?.Reason == "Failover",
            TimeSpan.FromSeconds(5), "the failover recorded in status");
        var primary = (await s.GetPolicyAsync()).Status!.Targets!.Single(t => t.Name == "primary");
        Assert.Contains("HTTP 503", primary.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Failback_AfterDelayAndNotBefore()
    {
        var (s, op) = await StartAsync("fo-back");
        await using var _ = op;
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
        await s.SetFaultAsync("primary", null);
        await s.WaitForReadyAsync("primary", 2);
        var healedAt = DateTime.UtcNow;
        // failbackDelay is 4 s: not back within the first 2.5 s of health
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Equal("standby", await s.SelectedAppAsync());
        var took = await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
        var sinceHealed = DateTime.UtcNow - healedAt;
        Assert.InRange(sinceHealed.TotalSeconds, 4, 4 + 1 + 2 + 1);
        // The status records the switch right after the Service patch, not at the same instant.
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Failover?.Last?.Reason == "Failback",
            TimeSpan.FromSeconds(5), "the failback recorded in status");
        var status = (await s.GetPolicyAsync()).Status!;
        Assert.Equal("Failback", status.Failover!.Last!.Reason);
        Assert.Equal(1, status.Failover.Count); // a failback is not a failover
        await s.WaitForConditionAsync("FailedOver", "False");
        Assert.True(took > TimeSpan.Zero);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Failback_Manual_OnlyWhenAnnotated()
    {
        var (s, op) = await StartAsync("fo-manual", spec => spec.Failover!.Failback = FailbackMode.Manual);
        await using var _ = op;
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
        await s.SetFaultAsync("primary", null);
        await s.WaitForReadyAsync("primary", 2);
        await Task.Delay(TimeSpan.FromSeconds(6)); // longer than failbackDelay
        Assert.Equal("standby", await s.SelectedAppAsync());
        var ready = await s.ConditionAsync("Ready");
        Assert.Contains("failback is Manual", ready!.Message, StringComparison.Ordinal);
        await s.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"metadata":{"annotations":{"resilience.dev/failback":"now"}}}""", V1Patch.PatchType.MergePatch),
            GroupVersion.Group, GroupVersion.Version, s.Namespace, ResiliencePolicy.KubePluralName, "checkout");
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(10));
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Metadata.Annotations?.ContainsKey("resilience.dev/failback") != true,
            TimeSpan.FromSeconds(10), "the failback annotation is removed once spent");
        Assert.Equal("ManualFailback", (await s.GetPolicyAsync()).Status!.Failover!.Last!.Reason);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Failover_ColdStandby_ScaledUpAndReadyBeforeTrafficMoves()
    {
        var (s, op) = await StartAsync("fo-cold", spec => spec.Redundancy!.StandbyReplicas = 0, standbyReplicas: 0);
        await using var _ = op;
        Assert.Equal(0, (await s.DeploymentAsync("standby")).Spec.Replicas);
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(20));
        var standby = await s.DeploymentAsync("standby");
        Assert.Equal(2, standby.Spec.Replicas); // scaled to minReplicas
        Assert.True(standby.Status.ReadyReplicas >= 1, "traffic moved to a standby with no ready pods");
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Failover?.Last?.Reason == "Failover",
            TimeSpan.FromSeconds(5), "the failover recorded in status");
        var last = (await s.GetPolicyAsync()).Status!.Failover!.Last!;
        Assert.True(last.SwitchSeconds > 0, "the switch waited for the standby");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task CircuitBreaker_TooManyFailovers_OpensAndStopsFailover()
    {
        var (s, op) = await StartAsync("fo-circuit", spec =>
        {
            spec.Failover!.FailbackDelay = "1s";
            spec.Failover.CircuitBreaker = new CircuitBreakerSpec { MaxFailovers = 1, Window = "10m", Cooldown = "10m" };
        });
        await using var _ = op;
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
        await s.SetFaultAsync("primary", null);
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForConditionAsync("CircuitOpen", "True");
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal("primary", await s.SelectedAppAsync()); // no second automatic failover
        var status = (await s.GetPolicyAsync()).Status!;
        Assert.Equal(1, status.Failover!.Count);
        Assert.Equal("Open", status.Failover.Circuit);
        Assert.Equal("CircuitOpen", status.Conditions!.Single(c => c.Type == "Ready").Reason);
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "CircuitOpen" && e.Type == "Warning"), e => e.Reason == "CircuitOpen" && e.Type == "Warning");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Restart_DuringColdStandbyFailover_ConvergesWithoutSecondFailover()
    {
        var (s, op) = await StartAsync("fo-restart", spec => spec.Redundancy!.StandbyReplicas = 0, standbyReplicas: 0);
        await s.SetFaultAsync("primary", "unready");
        // stop the operator as soon as it has started the failover (standby being scaled up)
        await ClusterFixture.WaitUntilAsync(async () => (await s.DeploymentAsync("standby")).Spec.Replicas > 0, TimeSpan.FromSeconds(15), "standby scale-up started");
        await op.DisposeAsync();
        Assert.Equal("primary", await s.SelectedAppAsync());
        await using var second = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(20));
        await Task.Delay(TimeSpan.FromSeconds(2));
        var status = (await s.GetPolicyAsync()).Status!;
        Assert.Equal(1, status.Failover!.Count);
        Assert.Equal("standby", await s.SelectedAppAsync());
    }
}
