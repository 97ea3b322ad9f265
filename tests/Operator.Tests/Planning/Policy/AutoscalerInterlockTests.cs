using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

/// <summary>KEDA interlock: ScaledObjects of the targets of a failover in progress are paused, and only the operator's pause is lifted.</summary>
public sealed class AutoscalerInterlockTests
{
    private static TargetHealth HealthyWithReady(DateTime since, int ready) => new(true, 0, 2, null, since, 3, ready, $"{ready}/3 pods pass", false);

    /// <summary>A cold standby with a ScaledObject on each target, serving from the primary.</summary>
    private static PolicyBuilder ColdStandby()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Redundancy!.StandbyReplicas = 0;
        b.Deployments["standby"].Spec.Replicas = 0;
        b.Health["standby"] = Cold(T0);
        b.ScaledObjects["standby"] = [ScaledObjectFor("standby")];
        b.ScaledObjects["primary"] = [ScaledObjectFor("primary")];
        return b;
    }

    private static bool Paused(PolicyBuilder b, string target) => b.ScaledObjects[target][0].Paused;

    [Fact]
    public void Plan_NoFailover_ScaledObjectsLeftAlone()
    {
        var b = ColdStandby();
        var plan = b.PlanAndApply(T0);
        Assert.Empty(plan.Autoscalers);
        Assert.False(Paused(b, "standby"));
    }

    [Fact]
    public void Plan_ColdStandbyFailover_PausedFromVerdictUntilNewTargetReady()
    {
        var b = ColdStandby();
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));

        // failure verdict: the standby is scaled up, and both targets' autoscalers are paused
        var verdict = b.PlanAndApply(T0.AddSeconds(11));
        Assert.Equal([("primary-so", true), ("standby-so", true)], verdict.Autoscalers.Select(a => (a.Name, a.Pause)).Order());
        Assert.Contains("failover from primary to standby", verdict.Autoscalers[0].Reason, StringComparison.Ordinal);
        Assert.Contains(verdict.Events, e => e.Reason == Reasons.AutoscalerPaused && e.Message.Contains("standby-so", StringComparison.Ordinal));
        Assert.True(Paused(b, "standby") && b.ScaledObjects["standby"][0].PausedByOperator);

        // still waiting: nothing more to do
        Assert.Empty(b.PlanAndApply(T0.AddSeconds(12)).Autoscalers);

        // switched, but the standby has 1 of its 3 replicas ready: the pause holds
        b.Health["standby"] = HealthyWithReady(T0.AddSeconds(14), 1);
        var switched = b.PlanAndApply(T0.AddSeconds(14));
        Assert.NotNull(switched.Selector);
        Assert.Empty(switched.Autoscalers);
        Assert.Empty(b.PlanAndApply(T0.AddSeconds(16)).Autoscalers);
        Assert.True(Paused(b, "standby"));

        // all replicas ready: the failover is over and the pauses are lifted
        b.Health["standby"] = HealthyWithReady(T0.AddSeconds(14), 3);
        var done = b.PlanAndApply(T0.AddSeconds(18));
        Assert.Equal([("primary-so", false), ("standby-so", false)], done.Autoscalers.Select(a => (a.Name, a.Pause)).Order());
        Assert.Contains(done.Events, e => e.Reason == Reasons.AutoscalerResumed);
        Assert.False(Paused(b, "standby"));
        Assert.False(b.ScaledObjects["standby"][0].Metadata.Annotations.ContainsKey(Annotations.PausedByOperator));

        // and a ready count that drops later is no new failover: no new pause
        b.Health["standby"] = HealthyWithReady(T0.AddSeconds(14), 1);
        Assert.Empty(b.PlanAndApply(T0.AddSeconds(30)).Autoscalers);
    }

    [Fact]
    public void Plan_PauseSetByAPerson_NeverLiftedNorMarked()
    {
        var b = ColdStandby();
        b.ScaledObjects["standby"] = [ScaledObjectFor("standby", paused: true)];
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var verdict = b.PlanAndApply(T0.AddSeconds(11));
        Assert.DoesNotContain(verdict.Autoscalers, a => a.Target == "standby");
        b.Health["standby"] = HealthyWithReady(T0.AddSeconds(14), 3);
        b.PlanAndApply(T0.AddSeconds(14));
        var after = b.PlanAndApply(T0.AddSeconds(20));
        Assert.DoesNotContain(after.Autoscalers, a => a.Target == "standby");
        Assert.True(Paused(b, "standby"));
        Assert.False(b.ScaledObjects["standby"][0].PausedByOperator);
    }

    [Fact]
    public void Plan_HotStandbyAlreadyReady_FailoverOverAtOnceNoPause()
    {
        var b = new PolicyBuilder();
        b.ScaledObjects["standby"] = [ScaledObjectFor("standby")];
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var plan = b.PlanAndApply(T0.AddSeconds(11)); // standby serves with 3 ready pods: nothing left in progress
        Assert.NotNull(plan.Selector);
        Assert.Empty(plan.Autoscalers);
    }

    [Fact]
    public void Plan_LeftoverOperatorPauseWithoutFailover_Lifted()
    {
        var b = new PolicyBuilder();
        b.ScaledObjects["standby"] = [ScaledObjectFor("standby", paused: true, byOperator: true)];
        var plan = b.PlanAndApply(T0);
        Assert.Equal([("standby-so", false)], plan.Autoscalers.Select(a => (a.Name, a.Pause)));
        Assert.False(Paused(b, "standby"));
    }

    [Fact]
    public void Plan_DryRun_PauseIsAPlannedActionOnly()
    {
        var b = ColdStandby();
        b.Policy.Spec.Enforcement = EnforcementMode.DryRun;
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var plan = b.PlanAndApply(T0.AddSeconds(11));
        Assert.Contains(plan.Status.PlannedActions!, a => a.Action == DryRun.PauseAutoscaler && a.Object == "ScaledObject/standby-so");
        Assert.DoesNotContain(plan.Events, e => e.Reason == Reasons.AutoscalerPaused);
        Assert.Contains(plan.Events, e => e.Reason == "DryRunPauseAutoscaler");
        Assert.False(Paused(b, "standby"));
    }
}
