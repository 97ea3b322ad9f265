using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;
using Xunit.Abstractions;

namespace ResilienceOperator.IntegrationTests.Chaos;

/// <summary>Bad input sits in the cluster: it is reported once and costs nothing while it stays.</summary>
[Collection("cluster")]
public sealed class CostAtRestTests(ClusterFixture cluster, ITestOutputHelper output)
{
    [Fact(Timeout = 180_000)]
    public async Task TwoInvalidPolicies_AtRestFor60s_AtMostTwoReconcilesEachAndNoProbes()
    {
        var s = await Scenario.CreateAsync(cluster, "bad-at-rest");
        await s.WaitForReadyAsync("primary", 2);
        await cluster.Client.CoreV1.CreateNamespacedServiceAsync(
            ClusterFixture.Service("other", s.Namespace, new Dictionary<string, string> { ["app"] = "other" }), s.Namespace);
        await using var op = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "rest", leaderElect: false);
        // The valid policy judges pod readiness only: no probe of it can time out on a busy machine
        // and wake the reconciler, so every reconcile in the window is one of the invalid policies.
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, p => p.HealthCheck!.Http = null));
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30));
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(10));

        // One names a Deployment that does not exist; one names the Service the first policy steers.
        var missing = Scenario.Policy(s.Namespace, p =>
        {
            p.Targets = [new TargetSpec { Name = "ghost", Priority = 0 }, new TargetSpec { Name = "standby", Priority = 10 }];
            p.Service = new ServiceReference { Name = "other" };
        });
        missing.Metadata.Name = "bad-missing";
        var claimed = Scenario.Policy(s.Namespace);
        claimed.Metadata.Name = "bad-claimed";
        await s.ApplyPolicyAsync(missing);
        await s.ApplyPolicyAsync(claimed);
        foreach (var name in new[] { "bad-missing", "bad-claimed" })
            await s.WaitForConditionAsync("Ready", "False", "InvalidSpec", name: name);

        var reconcilesBefore = await op.MetricAsync("controller_runtime_reconcile_total", "controller=\"resiliencepolicy\"");
        var cpuBefore = await op.MetricAsync("process_cpu_seconds_total");
        await Task.Delay(TimeSpan.FromSeconds(60)); // the window being measured: at rest, nothing changes
        var reconciles = await op.MetricAsync("controller_runtime_reconcile_total", "controller=\"resiliencepolicy\"") - reconcilesBefore;
        var cpu = await op.MetricAsync("process_cpu_seconds_total") - cpuBefore;
        output.WriteLine($"60 s at rest with two invalid policies and one valid: {reconciles} reconciles, {cpu:0.00} CPU-seconds");
        Assert.True(reconciles <= 4, $"{reconciles} reconciles in 60 s at rest (at most 2 per invalid policy)");
        foreach (var name in new[] { "bad-missing", "bad-claimed" })
            Assert.Equal(0, await op.MetricAsync("resilience_probes_total", $"policy=\"{name}\""));
        Assert.Equal("primary", await s.SelectedAppAsync());
    }
}
