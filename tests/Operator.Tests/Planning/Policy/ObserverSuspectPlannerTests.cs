using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

public sealed class ObserverSuspectPlannerTests
{
    private const string Suspicion = "18 of 20 checked targets (90%) turned failing within 10s, above the observer-suspect threshold of 55%";

    private static ResilienceOperator.Planning.Plan Plan(PolicyBuilder b, DateTime now) => b.PlanAndApply(now);

    private static k8s.Models.V1Condition? Cond(ResilienceOperator.Planning.Plan p, string type) => ConditionSet.Find(p.Status.Conditions, type);

    [Fact]
    public void Plan_ObserverSuspectWhileActiveFails_NoSelectorChangeStalledAndWarnedOncePerEpisode()
    {
        var b = new PolicyBuilder();
        Plan(b, T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.ObserverSuspect = Suspicion;

        var held = Plan(b, T0.AddSeconds(11));

        Assert.Null(held.Selector);
        Assert.Equal(["primary"], held.Status.ActiveTargets!);
        Assert.Null(held.Status.Failover!.Last);
        Assert.Empty(held.Status.Failover.RecentFailovers ?? []);
        var stalled = Cond(held, ProgressConditions.Stalled)!;
        Assert.Equal(("True", Reasons.ObserverSuspect), (stalled.Status, stalled.Reason));
        Assert.Contains("90%", stalled.Message);
        Assert.Contains("primary", stalled.Message);
        Assert.Null(Cond(held, ProgressConditions.Reconciling));
        // Ready tells the truth: the target that serves is unhealthy.
        Assert.Equal(("False", Reasons.TargetUnhealthy), (Cond(held, ConditionSet.Ready)!.Status, Cond(held, ConditionSet.Ready)!.Reason));
        var warning = Assert.Single(held.Events, e => e.Reason == Reasons.ObserverSuspect);
        Assert.Equal("Warning", warning.Type);
        Assert.DoesNotContain(held.Events, e => e.Reason == Reasons.Failover);

        var again = Plan(b, T0.AddSeconds(12));
        Assert.Null(again.Selector);
        Assert.Equal(Reasons.ObserverSuspect, Cond(again, ProgressConditions.Stalled)!.Reason);
        Assert.DoesNotContain(again.Events, e => e.Reason == Reasons.ObserverSuspect);

        // The suspicion ends (the prober enqueues the policy): the real failure fails over at once.
        b.ObserverSuspect = null;
        var resumed = Plan(b, T0.AddSeconds(13));
        Assert.Equal(new Dictionary<string, string> { ["app"] = "standby" }, resumed.Selector);
        Assert.Equal(Reasons.Failover, resumed.Status.Failover!.Last!.Reason);
        Assert.Null(Cond(resumed, ProgressConditions.Stalled));
    }

    [Fact]
    public void Plan_ObserverSuspectWithColdStandby_StandbyNotScaled()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Redundancy!.StandbyReplicas = 0;
        b.Deployments["standby"].Spec.Replicas = 0;
        b.Health["standby"] = Cold(T0);
        Plan(b, T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.ObserverSuspect = Suspicion;

        var held = Plan(b, T0.AddSeconds(11));

        Assert.Empty(held.Scale);
        Assert.Null(held.Status.Failover!.Pending);
        Assert.Equal(Reasons.ObserverSuspect, Cond(held, ProgressConditions.Stalled)!.Reason);
    }

    [Fact]
    public void Plan_ObserverSuspectWhileActiveHealthy_NothingHeldNothingStalled()
    {
        var b = new PolicyBuilder();
        b.ObserverSuspect = Suspicion;
        var plan = Plan(b, T0);
        Assert.Equal(("True", Reasons.Serving), (Cond(plan, ConditionSet.Ready)!.Status, Cond(plan, ConditionSet.Ready)!.Reason));
        Assert.Null(Cond(plan, ProgressConditions.Stalled));
        Assert.DoesNotContain(plan.Events, e => e.Reason == Reasons.ObserverSuspect);
    }

    [Fact]
    public void Plan_ObserverSuspectAndNoHealthyTarget_ReportsNoHealthyTarget()
    {
        var b = new PolicyBuilder();
        Plan(b, T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.Health["standby"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.ObserverSuspect = Suspicion;
        var plan = Plan(b, T0.AddSeconds(11));
        Assert.Null(plan.Selector);
        Assert.Equal(Reasons.NoHealthyTarget, Cond(plan, ProgressConditions.Stalled)!.Reason);
    }
}
