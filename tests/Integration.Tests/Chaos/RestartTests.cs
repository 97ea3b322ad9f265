using k8s;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Chaos;

/// <summary>An operator that dies in the middle of a failover: its successor never undoes what was done.</summary>
[Collection("cluster")]
public sealed class RestartTests(ClusterFixture cluster)
{
    private async Task<string> ServiceVersionAsync(Scenario s) =>
        (await cluster.Client.CoreV1.ReadNamespacedServiceAsync("checkout", s.Namespace)).Metadata.ResourceVersion;

    /// <summary>Waits until the (new) operator's status says traffic goes to the healthy standby.</summary>
    private static Task WaitForStandbyRecordedAsync(Scenario s) => ClusterFixture.WaitUntilAsync(async () =>
    {
        var p = await s.GetPolicyAsync();
        return p.Status?.ActiveTargets is ["standby"] && p.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
    }, TimeSpan.FromSeconds(30), "status records the standby as the active target, Ready");

    /// <summary>
    /// Runs <paramref name="op"/> until the policy is Ready on the primary and it stopped writing: a few checks
    /// (interval 1 s) with no further write and no failed check in status.
    /// </summary>
    private static async Task SettleAsync(Scenario s, OperatorProcess op) =>
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            var writes = await op.MetricAsync("resilience_api_writes_total");
            await Task.Delay(TimeSpan.FromSeconds(3));
            var p = await s.GetPolicyAsync();
            return writes == await op.MetricAsync("resilience_api_writes_total") && await s.SelectedAppAsync() == "primary"
                && p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true
                && p.Status.Targets?.All(t => t.ConsecutiveFailures == 0) == true;
        }, TimeSpan.FromSeconds(30), $"the {op.Identity} operator serves the primary and stops writing");

    [Fact(Timeout = 180_000)]
    public async Task Restarted_ClusterAlreadyMatches_NoWrite()
    {
        var s = await Scenario.CreateAsync(cluster, "no-write");
        await s.WaitForReadyAsync("primary", 2);
        await s.WaitForReadyAsync("standby", 2);
        var settled = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "first", leaderElect: false);
        try
        {
            await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
            await SettleAsync(s, settled);
            // A probe that fails while the restarted operator watches (a pod slow to answer on a busy machine) is news
            // of the cluster, and so is the status write it brings: that restart proves nothing. The status settles
            // and the operator restarts again; a failed probe in every one of three restarts fails the test.
            for (var attempt = 1; ; attempt++)
            {
                await settled.TerminateAsync();
                await settled.DisposeAsync();
                var before = await s.GetPolicyAsync();
                settled = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, $"restarted-{attempt}", leaderElect: false);
                // Every target checked several times by the new process (interval 1 s, retries 2): verdicts taken
                // over from status are confirmed, and anything it meant to change it has changed.
                var started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                await ClusterFixture.WaitUntilAsync(async () =>
                    await settled.MetricAsync("resilience_health_check_last_timestamp_seconds", "policy=\"checkout\"") > started + 4,
                    TimeSpan.FromSeconds(30), "the restarted operator has checked the targets for 4 s");
                var after = await s.GetPolicyAsync();
                var failedProbes = await settled.MetricAsync("resilience_probes_total", "result=\"failure\"") ?? 0;
                if (failedProbes > 0 && attempt < 3)
                {
                    await SettleAsync(s, settled);
                    continue;
                }
                var failures = string.Join("; ", after.Status?.Targets?.Where(t => t.Message is { Length: > 0 }).Select(t => $"{t.Name}: {t.Message}") ?? []);
                Assert.True(before.Metadata.ResourceVersion == after.Metadata.ResourceVersion,
                    $"the policy was written after restart {attempt} ({failedProbes} failed probes; {failures}):\n"
                    + $"before {k8s.KubernetesJson.Serialize(before.Status)}\nafter  {k8s.KubernetesJson.Serialize(after.Status)}");
                Assert.Equal(0, await settled.MetricAsync("resilience_api_writes_total"));
                break;
            }
        }
        finally
        {
            await settled.DisposeAsync();
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task StatusPatchForbiddenAfterServicePatch_RestartWithRbacBack_TrafficStaysOnStandby()
    {
        var s = await Scenario.CreateAsync(cluster, "unrecorded");
        await s.WaitForReadyAsync("primary", 2);
        await s.WaitForReadyAsync("standby", 2);
        await using (var full = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "full", leaderElect: false))
        {
            await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
            await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30));
            await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(10));
            await full.TerminateAsync();
        }

        // An operator that may steer the Service but not write the policy's status fails over.
        await using (var limited = await LimitedCredentials.CreateAsync(cluster, s.Namespace, "resiliencepolicies/status", "patch"))
        {
            await using var op = OperatorProcess.Start(limited.Kubeconfig, s.Namespace, "limited", leaderElect: false);
            await ClusterFixture.WaitUntilAsync(op.HealthyAsync, TimeSpan.FromSeconds(30), "the limited operator runs");
            await s.SetFaultAsync("primary", "unready");
            await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
            await op.KillAsync();
        }
        var stale = await s.GetPolicyAsync();
        Assert.Equal(["primary"], stale.Status!.ActiveTargets!); // the failover is not recorded

        // Restarted with every permission: the Service as it stands is the truth.
        var version = await ServiceVersionAsync(s);
        await using var restarted = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "restarted", leaderElect: false);
        await WaitForStandbyRecordedAsync(s);
        Assert.Equal(version, await ServiceVersionAsync(s)); // never pointed back at the failed primary
        Assert.True((await s.GetPolicyAsync()).Status!.Failover?.Count is null or <= 1);
    }

    [Fact(Timeout = 180_000)]
    public async Task SigkillDuringWarmFailover_Restarted_NeverMovesTrafficBackAndAtMostOneFailover()
    {
        var s = await Scenario.CreateAsync(cluster, "sigkill");
        await s.WaitForReadyAsync("primary", 2);
        await s.WaitForReadyAsync("standby", 2);
        var op = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "first", leaderElect: false);
        await using (op)
        {
            await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
            await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30));
            await s.SetFaultAsync("primary", "unready");
            // Killed the moment the Service is switched: the status write may or may not have followed.
            await ClusterFixture.WaitUntilAsync(async () => await s.SelectedAppAsync() == "standby", TimeSpan.FromSeconds(15), "Service selects standby");
            await op.KillAsync();
        }
        var version = await ServiceVersionAsync(s);
        await using var restarted = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "restarted", leaderElect: false);
        await WaitForStandbyRecordedAsync(s);
        Assert.Equal(version, await ServiceVersionAsync(s));
        Assert.True((await s.GetPolicyAsync()).Status!.Failover?.Count is null or <= 1);
    }

    [Fact(Timeout = 180_000)]
    public async Task SigtermDuringColdStandbyFailover_Restarted_FinishesTheSameFailoverOnce()
    {
        var s = await Scenario.CreateAsync(cluster, "sigterm", standbyReplicas: 0);
        await s.WaitForReadyAsync("primary", 2);
        var policy = Scenario.Policy(s.Namespace, p => p.Redundancy!.StandbyReplicas = 0);
        await using (var op = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "first", leaderElect: false))
        {
            await s.ApplyPolicyAsync(policy);
            await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30));
            await s.SetFaultAsync("primary", "unready");
            // Stopped while the cold standby is being scaled up, before traffic moves.
            await ClusterFixture.WaitUntilAsync(async () => (await s.DeploymentAsync("standby")).Spec.Replicas > 0, TimeSpan.FromSeconds(15), "the cold standby is scaled up");
            Assert.Equal("primary", await s.SelectedAppAsync());
            await op.TerminateAsync();
            Assert.Equal(0, op.ExitCode);
        }
        await using var restarted = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "restarted", leaderElect: false);
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(30));
        await WaitForStandbyRecordedAsync(s);
        var status = (await s.GetPolicyAsync()).Status!;
        Assert.Equal(1, status.Failover!.Count);
        Assert.Equal("primary", status.Failover.Last!.From);
        Assert.Equal("standby", status.Failover.Last.To);
    }
}
