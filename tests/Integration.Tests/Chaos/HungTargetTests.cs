using System.Diagnostics;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;
using Xunit.Abstractions;

namespace ResilienceOperator.IntegrationTests.Chaos;

/// <summary>A target that accepts connections and never answers holds no other policy up.</summary>
[Collection("cluster")]
public sealed class HungTargetTests(ClusterFixture cluster, ITestOutputHelper output)
{
    /// <summary>More hung pods than the operator has probe slots (64), each probe held for its whole timeout.</summary>
    private const int HungPods = 70;

    [Fact(Timeout = TestDeadline.Default)]
    public async Task OnePolicysPodsHang_AnotherPolicyStillFailsOverWithinItsBound()
    {
        var s = await Scenario.CreateAsync(cluster, "hung");
        var ns = s.Namespace;
        var labels = new Dictionary<string, string> { ["app"] = "slow" };
        await cluster.Client.AppsV1.CreateNamespacedDeploymentAsync(ClusterFixture.Deployment("slow", ns, HungPods, labels), ns);
        await cluster.Client.AppsV1.CreateNamespacedDeploymentAsync(ClusterFixture.Deployment("slow-standby", ns, 1, new Dictionary<string, string> { ["app"] = "slow-standby" }), ns);
        await cluster.Client.CoreV1.CreateNamespacedServiceAsync(ClusterFixture.Service("slow", ns, labels), ns);
        await s.WaitForReadyAsync("slow", HungPods, TimeSpan.FromSeconds(90));
        await s.WaitForReadyAsync("primary", 2);
        await s.WaitForReadyAsync("standby", 2);

        // Two of the four targets fail here, too few targets for the observer guard to judge: it is off.
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, ns, o => o.ObserverSuspectThreshold = 1);
        // Its probes may take 9 s of every 10 s.
        var slow = Scenario.Policy(ns, p =>
        {
            p.Targets = [new TargetSpec { Name = "slow", Priority = 0 }, new TargetSpec { Name = "slow-standby", Priority = 10 }];
            p.Service = new ServiceReference { Name = "slow" };
            p.Redundancy = new RedundancySpec { MinReplicas = 1 };
            p.HealthCheck!.Interval = "10s";
            p.HealthCheck.Timeout = "9s";
            p.HealthCheck.Retries = 1;
            p.HealthCheck.MinReadyPercent = 1;
        });
        slow.Metadata.Name = "slow";
        await s.ApplyPolicyAsync(Scenario.Policy(ns));
        await s.ApplyPolicyAsync(slow);
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30));
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30), name: "slow");

        await cluster.Client.AppsV1.PatchNamespacedDeploymentAsync(
            new V1Patch("{\"metadata\":{\"annotations\":{\"" + Scenario.Fault + "\":\"hang\"}}}", V1Patch.PatchType.MergePatch), "slow", ns);
        // Wait until the hung probes hold their slots: the slow policy sees its first failed check.
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync("slow")).Status?.Targets?.Any(t => t.Name == "slow" && t.ConsecutiveFailures > 0) == true,
            TimeSpan.FromSeconds(40), "the hung target fails a check");

        var sw = Stopwatch.StartNew();
        await s.SetFaultAsync("primary", "unready");
        var took = await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(1 * 2 + 2 + 1));
        output.WriteLine($"{HungPods} hung pods in another policy: fault -> switch {took.TotalSeconds:0.00} s");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10));
    }
}
