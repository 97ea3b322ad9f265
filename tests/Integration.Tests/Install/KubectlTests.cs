using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Install;

/// <summary>What a person sees with kubectl: printer columns, the category, field descriptions.</summary>
[Collection("cluster")]
public sealed class KubectlTests(ClusterFixture cluster)
{
    [Fact(Timeout = TestDeadline.Default)]
    public async Task GetRp_GetResilience_AndExplain_ShowUsefulOutput()
    {
        var s = await Scenario.CreateAsync(cluster, "kubectl");
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
        await s.WaitForConditionAsync("Ready", "True");
        // A fresh discovery cache: what a new user's kubectl sees.
        var cache = Path.Combine(Path.GetTempPath(), $"kubectl-cache-{Guid.NewGuid():N}");
        try
        {
            var (code, stdout, stderr) = await cluster.RunKubectlAsync("--cache-dir", cache, "get", "rp", "-n", s.Namespace);
            Assert.True(code == 0, stderr);
            var lines = stdout.Trim().Split('\n');
            Assert.Equal(["NAME", "MODE", "ACTIVE", "READY"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(4));
            Assert.Contains("AGE", lines[0], StringComparison.Ordinal);
            Assert.Equal(["checkout", "ActivePassive", "primary", "True"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(4));

            (code, stdout, stderr) = await cluster.RunKubectlAsync("--cache-dir", cache, "get", "resilience", "-n", s.Namespace);
            Assert.True(code == 0, stderr);
            // With one kind in the category kubectl prints its table; with several, prefixed names.
            Assert.Matches(@"(?m)^(resiliencepolicy\.resilience\.dev/)?checkout\s+ActivePassive\s+primary\s+True", stdout);

            (code, stdout, stderr) = await cluster.RunKubectlAsync("--cache-dir", cache, "explain", "resiliencepolicy.spec.healthCheck");
            Assert.True(code == 0, stderr);
            Assert.Contains("retries", stdout, StringComparison.Ordinal);
            Assert.Contains("consecutive", stdout, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true);
        }
    }
}
