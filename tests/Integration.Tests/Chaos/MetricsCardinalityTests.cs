using k8s;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Chaos;

/// <summary>What /metrics holds grows with policies, never with the pods the operator probes.</summary>
[Collection("cluster")]
public sealed class MetricsCardinalityTests(ClusterFixture cluster)
{
    [Fact(Timeout = 120_000)]
    public async Task ProbedPods_NoSeriesNamesAPodAddress()
    {
        var s = await Scenario.CreateAsync(cluster, "cardinality");
        await s.WaitForReadyAsync("primary", 2);
        await s.WaitForReadyAsync("standby", 2);
        await using var op = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "cardinality", leaderElect: false);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(60));
        // Every pod of both targets probed over HTTP a few times.
        await ClusterFixture.WaitUntilAsync(async () => await op.MetricAsync("resilience_probe_duration_seconds_count") >= 12,
            TimeSpan.FromSeconds(30), "a few rounds of HTTP probes");

        var text = await op.MetricsTextAsync();
        var pods = await cluster.Client.CoreV1.ListNamespacedPodAsync(s.Namespace);
        var addresses = pods.Items.Select(p => p.Status?.PodIP).OfType<string>().Distinct().ToList();

        Assert.NotNull(text);
        Assert.Equal(4, addresses.Count);
        foreach (var ip in addresses) Assert.DoesNotContain($"\"{ip}\"", text, StringComparison.Ordinal);
    }
}
