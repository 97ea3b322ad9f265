using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

// Tests of PolicyPlanner.ActivePassive.cs: failover, failback and the floors in ActivePassive mode.
// RestartSafetyTests and ObserverSuspectPlannerTests cover the same file.
public sealed partial class PolicyPlannerTests
{
    [Fact]
    public void Plan_AllHealthy_SelectsPreferredTargetAndIsReady()
    {
        var b = new PolicyBuilder();
        b.Service.Spec.Selector = new Dictionary<string, string> { ["app"] = "checkout" };
        var plan = b.PlanAndApply(T0);
        Assert.Equal(new Dictionary<string, string> { ["app"] = "primary" }, plan.Selector);
        Assert.Equal(["primary"], plan.Status.ActiveTargets!);
        Assert.Equal("True", Cond(plan, ConditionSet.Ready));
        Assert.Equal("True", Cond(plan, ConditionSet.Healthy));
        Assert.Equal("False", Cond(plan, ConditionSet.FailedOver));
        Assert.Equal(0, plan.Status.Failover!.Count);
    }

    [Fact]
    public void Plan_PrimaryUnhealthy_FailsOverToStandbyWithMeasuredTimes()
    {
        var b = new PolicyBuilder();
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var plan = b.PlanAndApply(T0.AddSeconds(11.2));
        Assert.Equal(new Dictionary<string, string> { ["app"] = "standby" }, plan.Selector);
        Assert.Equal(["standby"], plan.Status.ActiveTargets!);
        var last = plan.Status.Failover!.Last!;
        Assert.Equal(("primary", "standby", Reasons.Failover), (last.From, last.To, last.Reason));
        Assert.Equal(2.0, last.DetectionSeconds!.Value, 3); // first failed check 1s after the last good one, verdict 1s later
        Assert.Equal(0.2, last.SwitchSeconds!.Value, 3);
        Assert.Equal(1, plan.Status.Failover.Count);
        Assert.Equal("True", Cond(plan, ConditionSet.FailedOver));
        Assert.Contains(plan.Events, e => e.Reason == Reasons.Failover && e.Type == "Warning");
        // the new active target gets the replica floor
        Assert.Contains(plan.Scale, s => s.Target == "standby" && s.Replicas == 3);
    }

    [Fact]
    public void Plan_PreferredHealthyAgain_FailsBackOnlyAfterDelay()
    {
        var b = new PolicyBuilder();
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.PlanAndApply(T0.AddSeconds(11));
        b.Health["primary"] = Healthy(T0.AddSeconds(20));
        var early = b.PlanAndApply(T0.AddSeconds(25));
        Assert.Null(early.Selector);
        Assert.Equal(["standby"], early.Status.ActiveTargets!);
        Assert.NotNull(early.RequeueAfter);
        Assert.Equal(5, early.RequeueAfter!.Value.TotalSeconds, 3);
        var due = b.PlanAndApply(T0.AddSeconds(30));
        Assert.Equal(new Dictionary<string, string> { ["app"] = "primary" }, due.Selector);
        Assert.Equal(Reasons.Failback, due.Status.Failover!.Last!.Reason);
        Assert.Equal(1, due.Status.Failover.Count);
    }

    [Fact]
    public void Plan_ManualFailback_WaitsForAnnotation()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Failover!.Failback = FailbackMode.Manual;
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.PlanAndApply(T0.AddSeconds(11));
        b.Health["primary"] = Healthy(T0.AddSeconds(20));
        var later = b.PlanAndApply(T0.AddHours(1));
        Assert.Equal(["standby"], later.Status.ActiveTargets!);
        Assert.Contains("failback is Manual", ConditionSet.Find(later.Status.Conditions, ConditionSet.Ready)!.Message);
        b.Policy.Metadata.Annotations = new Dictionary<string, string> { [Annotations.Failback] = "now" };
        var asked = b.PlanAndApply(T0.AddHours(1).AddSeconds(1));
        Assert.Equal(["primary"], asked.Status.ActiveTargets!);
        Assert.Equal(Reasons.ManualFailback, asked.Status.Failover!.Last!.Reason);
        Assert.True(asked.ClearFailbackAnnotation);
    }

    /// <summary>A policy with a cold standby whose primary failed at T0+11s: the standby is being scaled up, the failover pending.</summary>
    private static (PolicyBuilder B, Plan Waiting) ColdStandbyFailoverPending()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Redundancy!.StandbyReplicas = 0;
        b.Deployments["standby"].Spec.Replicas = 0;
        b.Health["standby"] = Cold(T0);
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        return (b, b.PlanAndApply(T0.AddSeconds(11)));
    }

    [Fact]
    public void Plan_ColdStandby_ScaledUpAndAwaitedBeforeSwitch()
    {
        var (b, waiting) = ColdStandbyFailoverPending();
        Assert.Null(waiting.Selector);
        Assert.Contains(waiting.Scale, s => s.Target == "standby" && s.Replicas == 3);
        Assert.Equal("standby", waiting.Status.Failover!.Pending!.To);
        Assert.Equal(Reasons.WaitingForStandby, Reason(waiting, ConditionSet.Ready));
        b.Health["standby"] = Healthy(T0.AddSeconds(14));
        var switched = b.PlanAndApply(T0.AddSeconds(14));
        Assert.Equal(new Dictionary<string, string> { ["app"] = "standby" }, switched.Selector);
        Assert.Null(switched.Status.Failover!.Pending);
        Assert.Equal(3.0, switched.Status.Failover.Last!.SwitchSeconds!.Value, 3);
    }

    [Fact]
    public void Plan_ServiceSwitchedButItsStatusWriteLost_FailoverRecordedOnce()
    {
        var (b, _) = ColdStandbyFailoverPending();
        // The Service was switched to the standby, then the process stopped before writing status.
        b.Service.Spec.Selector = new Dictionary<string, string> { ["app"] = "standby" };
        b.Health["standby"] = Healthy(T0.AddSeconds(14));

        var next = b.PlanAndApply(T0.AddSeconds(20));

        Assert.Null(next.Selector);
        Assert.Null(next.Status.Failover!.Pending);
        Assert.Equal(1, next.Status.Failover.Count);
        Assert.Equal(("primary", "standby", Reasons.Failover), (next.Status.Failover.Last!.From, next.Status.Failover.Last.To, next.Status.Failover.Last.Reason));
        Assert.Equal(1, b.PlanAndApply(T0.AddSeconds(30)).Status.Failover!.Count); // recorded once, not again
    }

    [Fact]
    public void Plan_NoHealthyTarget_TrafficStaysAndWarns()
    {
        var b = new PolicyBuilder();
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.Health["standby"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var plan = b.PlanAndApply(T0.AddSeconds(11));
        Assert.Null(plan.Selector);
        Assert.Equal("False", Cond(plan, ConditionSet.Ready));
        Assert.Equal(Reasons.NoHealthyTarget, Reason(plan, ConditionSet.Ready));
        Assert.Contains(plan.Events, e => e.Type == "Warning" && e.Reason == Reasons.NoHealthyTarget);
    }

    [Fact]
    public void Plan_OnFailNone_ReportsButDoesNotMoveTraffic()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.HealthCheck!.OnFail = FailAction.None;
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var plan = b.PlanAndApply(T0.AddSeconds(11));
        Assert.Null(plan.Selector);
        Assert.Equal(Reasons.FailoverDisabled, Reason(plan, ConditionSet.Ready));
    }
}
