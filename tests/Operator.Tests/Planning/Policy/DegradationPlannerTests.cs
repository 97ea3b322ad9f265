using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

/// <summary>Graceful degradation: ready capacity, shedding and giving back, the fallback, bad input.</summary>
public sealed class DegradationPlannerTests
{
    private static readonly Dictionary<string, string> Primary = new() { ["app"] = "primary" };
    private static readonly Dictionary<string, string> Standby = new() { ["app"] = "standby" };
    private static readonly Dictionary<string, string> Static = new() { ["app"] = "static" };

    /// <summary>checkout over primary (3) and standby (1), shedding recommendations (3 → 0) below 60 %, falling back to static.</summary>
    private static PolicyBuilder Builder(bool fallback = false)
    {
        var b = new PolicyBuilder();
        b.Deployments["recommendations"] = Deployment("recommendations", 3);
        b.Deployments["static"] = Deployment("static", 1);
        b.Policy.Spec.Degradation = new DegradationSpec
        {
            WhenReadyPercentBelow = 60,
            Shed = [new ShedSpec { Name = "recommendations", Replicas = 0 }],
            Fallback = fallback ? "static" : null,
        };
        return b;
    }

    /// <summary>Plans, and applies the plan as the cluster would: shed actions too, annotation included.</summary>
    private static Plan Step(PolicyBuilder b, DateTime now)
    {
        var plan = b.PlanAndApply(now);
        foreach (var s in plan.ShedActions)
        {
            var d = b.Deployments[s.Deployment];
            d.Spec.Replicas = s.Replicas;
            d.Metadata.Annotations ??= new Dictionary<string, string>();
            if (s.PreviousReplicas is { } p) d.Metadata.Annotations[Annotations.ShedReplicas] = p.ToString(System.Globalization.CultureInfo.InvariantCulture);
            else d.Metadata.Annotations.Remove(Annotations.ShedReplicas);
        }
        return plan;
    }

    private static V1ConditionView Degraded(Plan p) => new(ConditionSet.Find(p.Status.Conditions, ConditionSet.Degraded)!);

    private sealed record V1ConditionView(string Status, string Reason, string Message)
    {
        public V1ConditionView(k8s.Models.V1Condition c) : this(c.Status, c.Reason, c.Message) { }
    }

    private static string? Annotation(PolicyBuilder b, string name) =>
        b.Deployments[name].Metadata.Annotations?.TryGetValue(Annotations.ShedReplicas, out var v) == true ? v : null;

    /// <summary>Primary keeps passing its checks with 1 of 3 pods ready: 1 + 1 of 3 + 1 = 50 %.</summary>
    private static void LoseCapacity(PolicyBuilder b, DateTime since) => b.Health["primary"] = Healthy(since) with { ReadyPods = 1 };

    [Fact]
    public void Plan_NotConfigured_DegradedFalseAndNoStatus()
    {
        var b = new PolicyBuilder();
        var plan = Step(b, T0);
        Assert.Null(plan.Status.Degradation);
        Assert.Equal(("False", Reasons.NotConfigured), (Degraded(plan).Status, Degraded(plan).Reason));
        Assert.Empty(plan.ShedActions);
    }

    [Fact]
    public void Plan_AllHealthy_NotDegradedAndNothingShed()
    {
        var b = Builder();
        var plan = Step(b, T0);
        Assert.Empty(plan.ShedActions);
        Assert.Equal(("False", Reasons.CapacityRestored), (Degraded(plan).Status, Degraded(plan).Reason));
        Assert.Contains("ready capacity 100% (4/4 replicas), threshold 60%", Degraded(plan).Message, StringComparison.Ordinal);
        Assert.False(plan.Status.Degradation!.Active);
        Assert.Equal(100, plan.Status.Degradation.ReadyPercent);
        Assert.Equal(3, b.Deployments["recommendations"].Spec.Replicas);
    }

    [Fact]
    public void Plan_CapacityBelowThreshold_ShedsRememberingPreviousReplicas()
    {
        var b = Builder();
        Step(b, T0);
        LoseCapacity(b, T0.AddSeconds(5));
        var plan = Step(b, T0.AddSeconds(5));
        var shed = Assert.Single(plan.ShedActions);
        Assert.Equal(("recommendations", 0, (int?)3), (shed.Deployment, shed.Replicas, shed.PreviousReplicas));
        Assert.Equal("3", Annotation(b, "recommendations"));
        var d = plan.Status.Degradation!;
        Assert.True(d.Active);
        Assert.Equal(T0.AddSeconds(5), d.Since);
        Assert.Equal(50, d.ReadyPercent);
        Assert.Equal(("recommendations", 3), (d.Shed!.Single().Name, d.Shed!.Single().PreviousReplicas));
        Assert.Equal(("True", Reasons.CapacityBelowThreshold), (Degraded(plan).Status, Degraded(plan).Reason));
        Assert.Equal("ready capacity 50% (2/4 replicas) is below 60%; shed: recommendations (3→0)", Degraded(plan).Message);
        Assert.Contains(plan.Events, e => e is { Type: "Warning", Reason: Reasons.Degraded });
        Assert.Contains(plan.Events, e => e.Type == "Normal" && e.Reason == Reasons.Shed && e.Message.Contains("from 3 to 0", StringComparison.Ordinal));
        // still serving: degraded is not the same as not Ready
        Assert.Equal("True", ConditionSet.Find(plan.Status.Conditions, ConditionSet.Ready)!.Status);
    }

    [Fact]
    public void Plan_AtThreshold_NotDegraded()
    {
        var b = Builder();
        b.Policy.Spec.Degradation!.WhenReadyPercentBelow = 50;
        LoseCapacity(b, T0);
        var plan = Step(b, T0);
        Assert.Empty(plan.ShedActions);
        Assert.False(plan.Status.Degradation!.Active);
    }

    [Fact]
    public void Plan_StillDegraded_NeverShedsTwiceNorOverwritesPrevious()
    {
        var b = Builder();
        LoseCapacity(b, T0);
        Step(b, T0);
        var again = Step(b, T0.AddSeconds(1));
        Assert.Empty(again.ShedActions);
        Assert.DoesNotContain(again.Events, e => e.Reason is Reasons.Shed or Reasons.Degraded);
        Assert.Equal(T0, again.Status.Degradation!.Since);
        // someone scales it up while shed: shed again, the previous count stays the original one
        b.Deployments["recommendations"].Spec.Replicas = 2;
        var rescaled = Step(b, T0.AddSeconds(2));
        var shed = Assert.Single(rescaled.ShedActions);
        Assert.Equal((0, (int?)3), (shed.Replicas, shed.PreviousReplicas));
        Assert.Equal("3", Annotation(b, "recommendations"));
        Assert.Equal(3, rescaled.Status.Degradation!.Shed!.Single().PreviousReplicas);
    }

    [Fact]
    public void Plan_AnnotationIsTheSourceOfTruth_AfterStatusLost()
    {
        var b = Builder();
        LoseCapacity(b, T0);
        Step(b, T0);
        b.Policy.Status!.Degradation = null; // a restart with a status write that never landed
        var plan = Step(b, T0.AddSeconds(1));
        Assert.Empty(plan.ShedActions);
        Assert.Equal(3, plan.Status.Degradation!.Shed!.Single().PreviousReplicas);
    }

    [Fact]
    public void Plan_Recovered_GivesBackOnlyAfterFailbackDelayOfHealth()
    {
        var b = Builder();
        LoseCapacity(b, T0);
        Step(b, T0);
        b.Health["primary"] = Healthy(T0.AddSeconds(20));
        var healed = Step(b, T0.AddSeconds(20));
        Assert.Empty(healed.ShedActions);
        Assert.False(healed.Status.Degradation!.Active);
        Assert.Null(healed.Status.Degradation.Since);
        Assert.Equal(T0.AddSeconds(20), healed.Status.Degradation.HealthySince);
        Assert.Equal(10, healed.RequeueAfter!.Value.TotalSeconds, 3);
        Assert.Equal(0, b.Deployments["recommendations"].Spec.Replicas);
        Assert.Contains("recommendations (3→0); given back once the policy has been healthy for 10s", Degraded(healed).Message, StringComparison.Ordinal);

        Assert.Empty(Step(b, T0.AddSeconds(29.9)).ShedActions);
        var due = Step(b, T0.AddSeconds(30));
        var back = Assert.Single(due.ShedActions);
        Assert.Equal(("recommendations", 3, (int?)null), (back.Deployment, back.Replicas, back.PreviousReplicas));
        Assert.Contains(due.Events, e => e.Type == "Normal" && e.Reason == Reasons.Unshed && e.Message.Contains("from 0 to 3", StringComparison.Ordinal));
        Assert.Null(Annotation(b, "recommendations"));
        Assert.Equal(3, b.Deployments["recommendations"].Spec.Replicas);
        Assert.Null(due.Status.Degradation!.Shed);
        Assert.Equal("ready capacity 100% (4/4 replicas), threshold 60%", Degraded(due).Message);
        Assert.Empty(Step(b, T0.AddSeconds(31)).ShedActions);
    }

    [Fact]
    public void Plan_DegradedAgainDuringHealthyRun_RunStartsOver()
    {
        var b = Builder();
        LoseCapacity(b, T0);
        Step(b, T0);
        b.Health["primary"] = Healthy(T0.AddSeconds(20));
        Step(b, T0.AddSeconds(20));
        LoseCapacity(b, T0.AddSeconds(25));
        var again = Step(b, T0.AddSeconds(25));
        Assert.Null(again.Status.Degradation!.HealthySince);
        Assert.Empty(again.ShedActions); // already shed
        b.Health["primary"] = Healthy(T0.AddSeconds(27));
        Step(b, T0.AddSeconds(27));
        Assert.Empty(Step(b, T0.AddSeconds(32)).ShedActions); // 12 s after the first recovery, 5 s after the second
        Assert.Single(Step(b, T0.AddSeconds(37)).ShedActions);
    }

    [Fact]
    public void Plan_TrafficOnUnhealthyTarget_NotAHealthyRun()
    {
        var b = Builder();
        b.Policy.Spec.HealthCheck!.OnFail = FailAction.None; // traffic stays on a failed primary
        b.Health["primary"] = Unhealthy(T0, T0);
        b.Deployments["standby"].Spec.Replicas = 3;
        b.Health["standby"] = Healthy(T0); // 3/6 = 50 %
        Step(b, T0);
        b.Policy.Spec.Degradation!.WhenReadyPercentBelow = 40; // capacity is enough now, but traffic is on a failed target
        var plan = Step(b, T0.AddMinutes(5));
        Assert.False(plan.Status.Degradation!.Active);
        Assert.Null(plan.Status.Degradation.HealthySince);
        Assert.Empty(plan.ShedActions);
    }

    [Fact]
    public void Plan_ColdStandbyAndFailingTarget_CountedAsDocumented()
    {
        var b = Builder();
        b.Policy.Spec.Redundancy!.StandbyReplicas = 0;
        b.Deployments["standby"].Spec.Replicas = 0;
        b.Health["standby"] = Cold(T0);
        var cold = Step(b, T0);
        Assert.Equal(100, cold.Status.Degradation!.ReadyPercent); // 3/3: a cold standby is not meant to run
        Assert.False(cold.Status.Degradation.Active);

        // A target failing its checks counts no ready replicas even when its pods say Ready.
        var c = Builder();
        c.Deployments["standby"].Spec.Replicas = 3;
        c.Health["standby"] = Unhealthy(T0, T0) with { ReadyPods = 3 };
        var failing = Step(c, T0);
        Assert.Equal(50, failing.Status.Degradation!.ReadyPercent);
        Assert.True(failing.Status.Degradation.Active);
    }

    [Fact]
    public void Plan_NotCheckedYet_DecidesNothing()
    {
        var b = Builder();
        b.Health.Remove("standby");
        LoseCapacity(b, T0);
        var plan = Step(b, T0);
        Assert.Empty(plan.ShedActions);
        Assert.Equal(("Unknown", Reasons.NotChecked), (Degraded(plan).Status, Degraded(plan).Reason));
    }

    [Fact]
    public void Plan_NameRemovedFromShedWhileShed_GivenBackAtOnce()
    {
        var b = Builder();
        LoseCapacity(b, T0);
        Step(b, T0);
        b.Policy.Spec.Degradation!.Shed = [];
        var plan = Step(b, T0.AddSeconds(1));
        var back = Assert.Single(plan.ShedActions);
        Assert.Equal(("recommendations", 3, (int?)null), (back.Deployment, back.Replicas, back.PreviousReplicas));
        Assert.True(plan.Status.Degradation!.Active); // still degraded, nothing left to shed
        Assert.Null(plan.Status.Degradation.Shed);
        Assert.Contains(plan.Events, e => e.Reason == Reasons.Unshed && e.Message.Contains("no longer listed", StringComparison.Ordinal));
    }

    [Fact]
    public void Plan_DegradationRemovedWhileShed_GivenBackAtOnce()
    {
        var b = Builder();
        LoseCapacity(b, T0);
        Step(b, T0);
        b.Policy.Spec.Degradation = null;
        var plan = Step(b, T0.AddSeconds(1));
        Assert.Equal(("recommendations", 3), (plan.ShedActions.Single().Deployment, plan.ShedActions.Single().Replicas));
        Assert.Null(plan.Status.Degradation);
        Assert.Equal(Reasons.NotConfigured, Degraded(plan).Reason);
    }

    [Fact]
    public void Plan_NoHealthyTarget_FallbackServesThenPrimaryTakesTrafficBack()
    {
        var b = Builder(fallback: true);
        Step(b, T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.Health["standby"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var down = Step(b, T0.AddSeconds(11));
        Assert.Equal(Static, down.Selector);
        Assert.True(down.Status.Degradation!.FallbackActive);
        Assert.Empty(down.Status.ActiveTargets!);
        Assert.Equal(("True", Reasons.NoHealthyTarget), (Degraded(down).Status, Degraded(down).Reason));
        Assert.Equal("no target is healthy; fallback static serves the Service; shed: recommendations (3→0)", Degraded(down).Message);
        var ready = ConditionSet.Find(down.Status.Conditions, ConditionSet.Ready)!;
        Assert.Equal(("False", Reasons.NoHealthyTarget), (ready.Status, ready.Reason));
        Assert.Contains("fallback static serves", ready.Message, StringComparison.Ordinal);
        Assert.Equal(Reasons.FallbackActive, ConditionSet.Find(down.Status.Conditions, ConditionSet.FailedOver)!.Reason);
        Assert.Contains(down.Events, e => e is { Type: "Normal", Reason: Reasons.FallbackActive });
        Assert.DoesNotContain(down.Events, e => e.Reason is Reasons.Failover or Reasons.TrafficSteered);
        Assert.Equal(0, down.Status.Failover!.Count);

        var still = Step(b, T0.AddSeconds(12));
        Assert.Null(still.Selector);
        Assert.DoesNotContain(still.Events, e => e.Reason == Reasons.FallbackActive);

        b.Health["primary"] = Healthy(T0.AddSeconds(20));
        var back = Step(b, T0.AddSeconds(20));
        Assert.Equal(Primary, back.Selector);
        Assert.Equal(["primary"], back.Status.ActiveTargets!);
        Assert.False(back.Status.Degradation!.FallbackActive);
        Assert.Contains(back.Events, e => e.Reason == Reasons.FallbackReleased && e.Message.Contains("from the fallback static back to primary", StringComparison.Ordinal));
        Assert.DoesNotContain(back.Events, e => e.Reason is Reasons.TrafficSteered or Reasons.Failover or Reasons.Failback);
        // moving to the fallback and back is not a failover: the circuit breaker does not count it
        Assert.Equal(0, back.Status.Failover!.Count);
        Assert.Null(back.Status.Failover.Last);
        Assert.Equal("False", ConditionSet.Find(back.Status.Conditions, ConditionSet.FailedOver)!.Status);
    }

    [Fact]
    public void Plan_FallbackActive_StandbyRecoversFirst_TakesTrafficWithoutFailoverRecord()
    {
        var b = Builder(fallback: true);
        Step(b, T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.Health["standby"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        Step(b, T0.AddSeconds(11));
        b.Health["standby"] = Healthy(T0.AddSeconds(15));
        var plan = Step(b, T0.AddSeconds(15));
        Assert.Equal(Standby, plan.Selector);
        Assert.Equal(["standby"], plan.Status.ActiveTargets!);
        Assert.Equal(0, plan.Status.Failover!.Count);
        Assert.Contains(plan.Events, e => e.Reason == Reasons.FallbackReleased);
        // later the primary heals: an ordinary failback after failbackDelay
        b.Health["primary"] = Healthy(T0.AddSeconds(20));
        Step(b, T0.AddSeconds(20));
        var failback = Step(b, T0.AddSeconds(30));
        Assert.Equal(Primary, failback.Selector);
        Assert.Equal(Reasons.Failback, failback.Status.Failover!.Last!.Reason);
    }

    [Fact]
    public void Plan_NoHealthyTargetWithoutFallback_DegradedAndTrafficStays()
    {
        var b = Builder();
        Step(b, T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.Health["standby"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var plan = Step(b, T0.AddSeconds(11));
        Assert.Null(plan.Selector);
        Assert.False(plan.Status.Degradation!.FallbackActive);
        Assert.Equal(("True", Reasons.NoHealthyTarget), (Degraded(plan).Status, Degraded(plan).Reason));
        Assert.Single(plan.ShedActions);
    }

    [Fact]
    public void Plan_ActiveActive_FallbackThenSpanAgain()
    {
        var b = Builder(fallback: true);
        b.Policy.Spec.Mode = ResilienceMode.ActiveActive;
        foreach (var name in new[] { "primary", "standby" })
            b.Deployments[name].Spec.Selector.MatchLabels["tier"] = "checkout";
        Step(b, T0);
        Assert.Equal(new Dictionary<string, string> { ["tier"] = "checkout" }, b.Service.Spec.Selector);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.Health["standby"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var down = Step(b, T0.AddSeconds(11));
        Assert.Equal(Static, down.Selector);
        Assert.Null(Step(b, T0.AddSeconds(12)).Selector); // the span does not fight the fallback
        b.Health["standby"] = Healthy(T0.AddSeconds(15));
        var back = Step(b, T0.AddSeconds(15));
        Assert.Equal(new Dictionary<string, string> { ["tier"] = "checkout" }, back.Selector);
        Assert.Contains(back.Events, e => e.Reason == Reasons.FallbackReleased);
    }

    [Theory]
    [InlineData("shed-is-target", "spec.degradation.shed[1].name: \"primary\" is a target of this policy")]
    [InlineData("shed-duplicate", "spec.degradation.shed[1].name: duplicate \"recommendations\" (also spec.degradation.shed[0])")]
    [InlineData("shed-missing", "spec.degradation.shed[1].name: Deployment \"search\" not found in namespace shop")]
    [InlineData("fallback-is-target", "spec.degradation.fallback: \"standby\" is a target of this policy")]
    [InlineData("fallback-missing", "spec.degradation.fallback: Deployment \"maintenance\" not found in namespace shop")]
    [InlineData("fallback-shed", "spec.degradation.fallback: \"recommendations\" is also shed (spec.degradation.shed[0])")]
    public void Plan_InvalidDegradation_InvalidSpecNamingTheField(string @case, string expected)
    {
        var b = Builder(fallback: true);
        var deg = b.Policy.Spec.Degradation!;
        switch (@case)
        {
            case "shed-is-target": deg.Shed.Add(new ShedSpec { Name = "primary" }); break;
            case "shed-duplicate": deg.Shed.Add(new ShedSpec { Name = "recommendations", Replicas = 1 }); break;
            case "shed-missing": deg.Shed.Add(new ShedSpec { Name = "search" }); break;
            case "fallback-is-target": deg.Fallback = "standby"; break;
            case "fallback-missing": deg.Fallback = "maintenance"; break;
            case "fallback-shed": deg.Fallback = "recommendations"; break;
        }
        LoseCapacity(b, T0);
        var plan = Step(b, T0);
        Assert.True(plan.Invalid);
        var ready = ConditionSet.Find(plan.Status.Conditions, ConditionSet.Ready)!;
        Assert.Equal(("False", Reasons.InvalidSpec), (ready.Status, ready.Reason));
        Assert.StartsWith(expected, ready.Message, StringComparison.Ordinal);
        Assert.Empty(plan.ShedActions);
    }

    [Fact]
    public void Plan_InvalidSpecWhileShed_KeepsTheShedRecord()
    {
        var b = Builder();
        LoseCapacity(b, T0);
        Step(b, T0);
        b.Policy.Spec.Degradation!.Shed.Add(new ShedSpec { Name = "primary" });
        var plan = Step(b, T0.AddSeconds(1));
        Assert.True(plan.Invalid);
        Assert.Equal("recommendations", plan.Status.Degradation!.Shed!.Single().Name);
    }
}
