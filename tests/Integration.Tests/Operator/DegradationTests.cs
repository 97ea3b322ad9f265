using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Operator;

/// <summary>Graceful degradation on the local control plane: shed, give back, fallback, recovery, deletion.</summary>
[Collection("cluster")]
public sealed class DegradationTests(ClusterFixture cluster)
{
    private const string ShedAnnotation = "resilience.dev/shed-replicas";

    /// <summary>The scenario plus recommendations (3 replicas, shed to 0 below 60 % ready capacity) and a static fallback.</summary>
    private async Task<(Scenario, OperatorRunner)> StartAsync(string prefix, Action<DegradationSpec> configure)
    {
        var s = await Scenario.CreateAsync(cluster, prefix);
        await cluster.Client.AppsV1.CreateNamespacedDeploymentAsync(
            ClusterFixture.Deployment("recommendations", s.Namespace, 3, new Dictionary<string, string> { ["app"] = "recommendations" }), s.Namespace);
        await cluster.Client.AppsV1.CreateNamespacedDeploymentAsync(
            ClusterFixture.Deployment("static", s.Namespace, 1, new Dictionary<string, string> { ["app"] = "static" }), s.Namespace);
        await s.WaitForReadyAsync("primary", 2);
        await s.WaitForReadyAsync("standby", 2);
        var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        var degradation = new DegradationSpec();
        configure(degradation);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec => spec.Degradation = degradation));
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
        await s.WaitForConditionAsync("Ready", "True");
        await s.WaitForConditionAsync("Degraded", "False", "CapacityRestored");
        return (s, op);
    }

    private static void Shed(DegradationSpec d)
    {
        d.WhenReadyPercentBelow = 60;
        d.Shed = [new ShedSpec { Name = "recommendations", Replicas = 0 }];
    }

    private static string? Annotation(V1Deployment d) =>
        d.Metadata.Annotations?.TryGetValue(ShedAnnotation, out var v) == true ? v : null;

    private static async Task WaitForShedAsync(Scenario s) =>
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            var d = await s.DeploymentAsync("recommendations");
            return d.Spec.Replicas == 0 && Annotation(d) == "3";
        }, TimeSpan.FromSeconds(20), "recommendations shed to 0 with resilience.dev/shed-replicas=3");

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Shed_CapacityBelowThreshold_ThenGivenBackOnlyAfterFailbackDelay()
    {
        var (s, op) = await StartAsync("deg-shed", Shed);
        await using var _ = op;
        Assert.Equal(3, (await s.DeploymentAsync("recommendations")).Spec.Replicas);

        // primary's pods go NotReady: 2 of 4 replicas ready, below 60 %
        await s.SetFaultAsync("primary", "unready");
        await WaitForShedAsync(s);
        await s.WaitForConditionAsync("Degraded", "True", "CapacityBelowThreshold");
        var degraded = await s.ConditionAsync("Degraded");
        Assert.Contains("ready capacity 50% (2/4 replicas) is below 60%", degraded!.Message, StringComparison.Ordinal);
        Assert.Contains("shed: recommendations (3→0)", degraded.Message, StringComparison.Ordinal);
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Degradation?.Shed is [_], TimeSpan.FromSeconds(10), "the shed recorded in status");
        var status = (await s.GetPolicyAsync()).Status!.Degradation!;
        Assert.True(status.Active);
        Assert.Equal(("recommendations", 3), (status.Shed!.Single().Name, status.Shed!.Single().PreviousReplicas));
        var events = await s.PolicyEventsAsync();
        Assert.Contains(events, e => e.Reason == "Degraded" && e.Type == "Warning");
        Assert.Contains(events, e => e.Reason == "Shed" && e.Type == "Normal" && e.Message.Contains("recommendations", StringComparison.Ordinal));

        // recovery: given back once the policy has been healthy for failbackDelay (4 s), not before
        await s.SetFaultAsync("primary", null);
        await s.WaitForReadyAsync("primary", 2);
        var healedAt = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Equal(0, (await s.DeploymentAsync("recommendations")).Spec.Replicas);
        await ClusterFixture.WaitUntilAsync(async () => (await s.DeploymentAsync("recommendations")).Spec.Replicas == 3,
            TimeSpan.FromSeconds(20), "recommendations given back its 3 replicas");
        var sinceHealed = DateTime.UtcNow - healedAt;
        // the prober may see the pods Ready up to one interval before the Deployment's status says so
        Assert.InRange(sinceHealed.TotalSeconds, 4 - 1, 4 + 1 + 2 + 3);
        var back = await s.DeploymentAsync("recommendations");
        Assert.Null(Annotation(back));
        await s.WaitForConditionAsync("Degraded", "False", "CapacityRestored");
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Degradation?.Shed is null, TimeSpan.FromSeconds(10), "status shows nothing shed");
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "Unshed" && e.Message.Contains("from 0 to 3", StringComparison.Ordinal)), e => e.Reason == "Unshed" && e.Message.Contains("from 0 to 3", StringComparison.Ordinal));
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Shed_PolicyDeletedWhileShed_ReplicasGivenBack()
    {
        var (s, op) = await StartAsync("deg-delete", Shed);
        await using var _ = op;
        await s.SetFaultAsync("primary", "unready");
        await WaitForShedAsync(s);
        await s.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, s.Namespace,
            ResiliencePolicy.KubePluralName, "checkout");
        await ClusterFixture.WaitUntilAsync(async () => !await s.PolicyExistsAsync(), TimeSpan.FromSeconds(20), "the policy is gone");
        var d = await s.DeploymentAsync("recommendations");
        Assert.Equal(3, d.Spec.Replicas);
        Assert.Null(Annotation(d));
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Fallback_NoHealthyTarget_ServiceSelectsFallbackUntilATargetRecovers()
    {
        var (s, op) = await StartAsync("deg-fallback", d => d.Fallback = "static");
        await using var _ = op;

        await s.SetFaultAsync("primary", "unready");
        await s.SetFaultAsync("standby", "unready");
        await s.WaitForSelectedAsync("static", TimeSpan.FromSeconds(20));
        await s.WaitForConditionAsync("Degraded", "True", "NoHealthyTarget");
        Assert.Contains("fallback static serves the Service", (await s.ConditionAsync("Degraded"))!.Message, StringComparison.Ordinal);
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Degradation?.FallbackActive == true,
            TimeSpan.FromSeconds(10), "status.degradation.fallbackActive");
        var ready = await s.ConditionAsync("Ready");
        Assert.Equal(("False", "NoHealthyTarget"), (ready!.Status, ready.Reason));
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "FallbackActive"), e => e.Reason == "FallbackActive");
        var failoversBefore = (await s.GetPolicyAsync()).Status!.Failover?.Count ?? 0;

        // the standby recovers first: it takes the traffic back from the fallback
        await s.SetFaultAsync("standby", null);
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(20));
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Degradation?.FallbackActive == false,
            TimeSpan.FromSeconds(10), "fallbackActive false again");
        var status = (await s.GetPolicyAsync()).Status!;
        Assert.Equal(["standby"], status.ActiveTargets!);
        Assert.Equal(failoversBefore, status.Failover?.Count ?? 0); // leaving the fallback is not a failover
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "FallbackReleased" && e.Message.Contains("back to standby", StringComparison.Ordinal)), e => e.Reason == "FallbackReleased" && e.Message.Contains("back to standby", StringComparison.Ordinal));

        // and the primary, once healed, gets it back by the ordinary failback
        await s.SetFaultAsync("primary", null);
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(20));
    }
}
