using System.Diagnostics;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;
using Xunit.Abstractions;

namespace ResilienceOperator.IntegrationTests.Chaos;

/// <summary>When most of what the operator observes fails at once, it suspects itself before it acts.</summary>
[Collection("cluster")]
public sealed class ObserverFailureTests(ClusterFixture cluster, ITestOutputHelper output)
{
    private const int Apps = 20;

    [Fact(Timeout = 240_000)]
    public async Task TwentyPrimariesStopAnsweringAtOnce_NoFailover_ThenOneFailingAloneFailsOver()
    {
        var ns = await cluster.CreateNamespaceAsync("observer");
        var c = cluster.Client;
        // Twenty distinct services, each a primary with one pod and a cold standby.
        await Task.WhenAll(Enumerable.Range(0, Apps).Select(async i =>
        {
            await c.AppsV1.CreateNamespacedDeploymentAsync(ClusterFixture.Deployment($"p{i}", ns, 1, new Dictionary<string, string> { ["app"] = $"p{i}" }), ns);
            await c.AppsV1.CreateNamespacedDeploymentAsync(ClusterFixture.Deployment($"s{i}", ns, 0, new Dictionary<string, string> { ["app"] = $"s{i}" }), ns);
            await c.CoreV1.CreateNamespacedServiceAsync(ClusterFixture.Service($"svc{i}", ns, new Dictionary<string, string> { ["app"] = $"svc{i}" }), ns);
        }));
        var s = new Scenario(cluster, ns);
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, ns);
        await Task.WhenAll(Enumerable.Range(0, Apps).Select(i =>
        {
            var policy = Scenario.Policy(ns, p =>
            {
                p.Targets = [new TargetSpec { Name = $"p{i}", Priority = 0 }, new TargetSpec { Name = $"s{i}", Priority = 10 }];
                p.Service = new ServiceReference { Name = $"svc{i}" };
                p.Redundancy = new RedundancySpec { MinReplicas = 1, StandbyReplicas = 0 };
            });
            policy.Metadata.Name = $"app{i}";
            return s.ApplyPolicyAsync(policy);
        }));
        for (var i = 0; i < Apps; i++) await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(60), name: $"app{i}");

        // Every primary stops answering at once: from the operator's seat that looks like its own fault.
        await Task.WhenAll(Enumerable.Range(0, Apps).Select(i => Fault(ns, $"p{i}", "http-fail")));
        for (var i = 0; i < Apps; i++)
            await s.WaitForConditionAsync("Stalled", "True", "ObserverSuspect", TimeSpan.FromSeconds(20), name: $"app{i}");
        for (var i = 0; i < Apps; i++)
        {
            var svc = await c.CoreV1.ReadNamespacedServiceAsync($"svc{i}", ns);
            Assert.Equal($"p{i}", svc.Spec.Selector["app"]);
            Assert.Equal(0, (await c.AppsV1.ReadNamespacedDeploymentAsync($"s{i}", ns)).Spec.Replicas);
            var policy = await s.GetPolicyAsync($"app{i}");
            Assert.True(policy.Status!.Failover?.Count is null or 0, $"app{i} failed over");
        }
        var events = (await c.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: "involvedObject.kind=ResiliencePolicy")).Items
            .Where(e => e.Reason == "ObserverSuspect").ToList();
        Assert.Equal(Apps, events.Select(e => e.InvolvedObject.Name).Distinct().Count());
        Assert.All(events, e => Assert.Equal("Warning", e.Type));

        // They recover; then one primary fails alone, a real failure, and is failed over.
        await Task.WhenAll(Enumerable.Range(0, Apps).Select(i => Fault(ns, $"p{i}", null)));
        for (var i = 0; i < Apps; i++)
            await ClusterFixture.WaitUntilAsync(async () => (await s.ConditionAsync("Stalled", $"app{i}"))?.Status != "True", TimeSpan.FromSeconds(30), $"app{i} no longer Stalled");
        var sw = Stopwatch.StartNew();
        await Fault(ns, "p3", "http-fail");
        await ClusterFixture.WaitUntilAsync(async () => (await c.CoreV1.ReadNamespacedServiceAsync("svc3", ns)).Spec.Selector["app"] == "s3",
            TimeSpan.FromSeconds(20), "svc3 selects its standby s3");
        output.WriteLine($"single failure among {Apps} (cold standby): fault -> switch {sw.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal("p4", (await c.CoreV1.ReadNamespacedServiceAsync("svc4", ns)).Spec.Selector["app"]);
    }

    private Task Fault(string ns, string deployment, string? fault) => cluster.Client.AppsV1.PatchNamespacedDeploymentAsync(
        new V1Patch("{\"metadata\":{\"annotations\":{\"" + Scenario.Fault + "\":" + (fault is null ? "null" : $"\"{fault}\"") + "}}}", V1Patch.PatchType.MergePatch), deployment, ns);
}
