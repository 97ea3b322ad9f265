using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Chaos;

/// <summary>An operator killed between the fence and the promote of a failover: its successor resumes at the promote.</summary>
[Collection("cluster")]
public sealed class StatefulRestartTests(ClusterFixture cluster)
{
    [Fact(Timeout = TestDeadline.Default)]
    public async Task KilledBetweenFenceAndPromote_RestartResumesAtPromote_FenceRunsOnce()
    {
        var s = await StatefulScenario.CreateAsync(cluster, "sts-restart");
        // A slow promote: the operator is killed while it runs.
        var policy = StatefulScenario.Policy(s.Namespace, promote: new HookSpec { Template = StatefulScenario.Hook("6s") },
            fence: new FenceHookSpec { Template = StatefulScenario.Hook("300ms") });
        string fenceUid, promoteUid;
        await using (var first = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "sts-first", leaderElect: false))
        {
            await s.ApplyPolicyAsync(policy);
            await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(30));
            await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30));
            await StatefulScenario.SetFaultAsync(s, "primary", "unready");
            await StatefulScenario.WaitForPendingStepAsync(s, "Promote", TimeSpan.FromSeconds(60));
            await ClusterFixture.WaitUntilAsync(async () => (await StatefulScenario.HookJobsAsync(s, "promote")).Count == 1,
                TimeSpan.FromSeconds(20), "the promote Job exists");
            // The fence that finished is counted once, by the process whose status write recorded it.
            await ClusterFixture.WaitUntilAsync(async () => await HookRunsAsync(first, s.Namespace, "fence", "succeeded") == 1,
                TimeSpan.FromSeconds(10), "the fence run counted");
            await first.KillAsync();
        }
        var pending = (await s.GetPolicyAsync()).Status!.Failover!.Pending!;
        Assert.NotNull(pending.FencedAt);
        Assert.Equal("primary", await s.SelectedAppAsync());
        fenceUid = Assert.Single(await StatefulScenario.HookJobsAsync(s, "fence")).Metadata.Uid;
        promoteUid = Assert.Single(await StatefulScenario.HookJobsAsync(s, "promote")).Metadata.Uid;

        await using var restarted = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "sts-restarted", leaderElect: false);
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(60));
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Failover?.Last?.Reason == "Failover",
            TimeSpan.FromSeconds(20), "the failover recorded in status");

        // One fence Job ever (the same object), one promote Job, and the recorded fence time kept.
        Assert.Equal(fenceUid, Assert.Single(await StatefulScenario.HookJobsAsync(s, "fence")).Metadata.Uid);
        Assert.Equal(promoteUid, Assert.Single(await StatefulScenario.HookJobsAsync(s, "promote")).Metadata.Uid);
        var last = (await s.GetPolicyAsync()).Status!.Failover!.Last!;
        Assert.Equal(pending.FencedAt, last.FencedAt);
        Assert.True(last.PromotedAt <= last.Time, $"promoted {last.PromotedAt:O}, switched {last.Time:O}");
        Assert.Equal(1, (await s.GetPolicyAsync()).Status!.Failover!.SteppedFailovers);

        // The successor counts the promote it saw finish, and not the fence its predecessor counted.
        Assert.Equal(1, await HookRunsAsync(restarted, s.Namespace, "promote", "succeeded"));
        Assert.Equal(0, await HookRunsAsync(restarted, s.Namespace, "fence", "succeeded"));
        Assert.Equal(1, await restarted.MetricAsync("resilience_failover_hook_duration_seconds_count", $"namespace=\"{s.Namespace}\"", "hook=\"promote\""));
    }

    private static Task<double?> HookRunsAsync(OperatorProcess op, string ns, string hook, string result) =>
        op.MetricAsync("resilience_failover_hook_runs_total", $"namespace=\"{ns}\"", $"hook=\"{hook}\"", $"result=\"{result}\"");
}
