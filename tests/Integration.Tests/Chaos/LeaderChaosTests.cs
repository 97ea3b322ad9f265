using System.Diagnostics;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;
using Xunit.Abstractions;

namespace ResilienceOperator.IntegrationTests.Chaos;

/// <summary>Leaders that freeze, die or are stopped: operators as their own processes, as in a cluster.</summary>
[Collection("cluster")]
public sealed class LeaderChaosTests(ClusterFixture cluster, ITestOutputHelper output)
{
    private static async Task<(OperatorProcess Leader, OperatorProcess Follower)> LeaderOfAsync(OperatorProcess a, OperatorProcess b)
    {
        await ClusterFixture.WaitUntilAsync(async () => await a.LeadingAsync() || await b.LeadingAsync(), TimeSpan.FromSeconds(45), "a leader");
        return await a.LeadingAsync() ? (a, b) : (b, a);
    }

    [Fact(Timeout = 180_000)]
    public async Task PausedLeader_WakesAfterAnotherTookOver_WritesNothingAndTrafficStaysWhereTheNewLeaderPutIt()
    {
        var s = await Scenario.CreateAsync(cluster, "paused");
        await s.WaitForReadyAsync("primary", 2);
        await s.WaitForReadyAsync("standby", 2);
        await using var a = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "a");
        await ClusterFixture.WaitUntilAsync(a.LeadingAsync, TimeSpan.FromSeconds(45), "replica a leads");
        await using var b = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "b");
        await ClusterFixture.WaitUntilAsync(b.HealthyAsync, TimeSpan.FromSeconds(45), "replica b runs");
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30));

        // The leader fails traffic over, then freezes (a GC pause, CPU throttling, a VM freeze).
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
        await s.WaitForConditionAsync("FailedOver", "True");
        var writesBefore = await a.MetricAsync("resilience_api_writes_total");
        Assert.NotNull(writesBefore);
        a.Signal("STOP");
        var frozen = Stopwatch.StartNew();

        // While it is frozen the primary recovers; the other replica takes the lease and fails back.
        await s.SetFaultAsync("primary", null);
        await ClusterFixture.WaitUntilAsync(b.LeadingAsync, TimeSpan.FromSeconds(40), "replica b leads");
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(30));
        output.WriteLine($"frozen leader -> failback by the new leader: {frozen.Elapsed.TotalSeconds:0.0} s");

        // The frozen leader wakes with its old verdict (primary failing) and its old term.
        a.Signal("CONT");
        await ClusterFixture.WaitUntilAsync(async () => await a.MetricAsync("leader_election_master_status") == 0, TimeSpan.FromSeconds(20),
            "the woken replica knows it no longer leads");
        Assert.Equal(writesBefore, await a.MetricAsync("resilience_api_writes_total"));
        Assert.Equal("primary", await s.SelectedAppAsync());
        Assert.False(a.HasExited, a.Output);
    }

    [Fact(Timeout = 180_000)]
    public async Task LeaderKilled_ThenLeaderStopped_SuccessorsLeadWithinBoundsAndAct()
    {
        var s = await Scenario.CreateAsync(cluster, "kill");
        await s.WaitForReadyAsync("primary", 2);
        await s.WaitForReadyAsync("standby", 2);
        await using var a = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "a");
        await using var b = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "b");
        var (leader, follower) = await LeaderOfAsync(a, b);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30));

        // SIGKILL: the lease is not released; the successor waits for it to expire (15 s).
        var sw = Stopwatch.StartNew();
        await leader.KillAsync();
        await ClusterFixture.WaitUntilAsync(follower.LeadingAsync, TimeSpan.FromSeconds(25), "the other replica leads after SIGKILL");
        var afterKill = sw.Elapsed;
        output.WriteLine($"SIGKILL -> new leader: {afterKill.TotalSeconds:0.0} s");
        // Lease duration 15 s, counted from when the follower saw the last renewal (it looks every 2-2.4 s), plus a busy machine.
        Assert.True(afterKill <= TimeSpan.FromSeconds(18), $"SIGKILL -> new leader took {afterKill.TotalSeconds:0.0} s (goal 17 s)");

        // SIGTERM: the lease is released on the way out; the successor leads at once.
        await using var c = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "c");
        await ClusterFixture.WaitUntilAsync(c.HealthyAsync, TimeSpan.FromSeconds(45), "replica c runs");
        await ClusterFixture.WaitUntilAsync(async () => await c.MetricAsync("leader_election_master_status") == 0, TimeSpan.FromSeconds(10), "replica c follows");
        sw.Restart();
        await follower.TerminateAsync();
        await ClusterFixture.WaitUntilAsync(c.LeadingAsync, TimeSpan.FromSeconds(15), "replica c leads after SIGTERM");
        var afterTerm = sw.Elapsed;
        output.WriteLine($"SIGTERM -> new leader: {afterTerm.TotalSeconds:0.0} s");
        // The Lease is released at once; the follower takes it at its next look (every 2-2.4 s), plus a busy machine.
        Assert.True(afterTerm <= TimeSpan.FromSeconds(4), $"SIGTERM -> new leader took {afterTerm.TotalSeconds:0.0} s (goal 3 s)");
        Assert.Equal(0, follower.ExitCode);

        // The last leader acts.
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
    }
}
