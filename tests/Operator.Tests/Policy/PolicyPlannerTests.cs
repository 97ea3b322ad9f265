using ResilienceOperator.Entities;
using ResilienceOperator.Policy;
using static ResilienceOperator.Tests.Policy.PolicyBuilder;

namespace ResilienceOperator.Tests.Policy;

public sealed class PolicyPlannerTests
{
    private static string? Cond(Plan p, string type) => ConditionSet.Find(p.Status.Conditions, type)?.Status;
    private static string? Reason(Plan p, string type) => ConditionSet.Find(p.Status.Conditions, type)?.Reason;

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
    public void Plan_SteadyState_SecondPlanChangesNothing()
    {
        var b = new PolicyBuilder();
        var first = b.PlanAndApply(T0);
        var second = PolicyPlanner.Plan(b.Observe(T0.AddMinutes(5)));
        Assert.Null(second.Selector);
        Assert.Empty(second.Scale);
        Assert.Empty(second.Events);
        Assert.Equal(k8s.KubernetesJson.Serialize(first.Status), k8s.KubernetesJson.Serialize(second.Status));
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

    [Fact]
    public void Plan_ColdStandby_ScaledUpAndAwaitedBeforeSwitch()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Redundancy!.StandbyReplicas = 0;
        b.Deployments["standby"].Spec.Replicas = 0;
        b.Health["standby"] = Cold(T0);
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var waiting = b.PlanAndApply(T0.AddSeconds(11));
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
    public void Plan_TooManyFailovers_OpensCircuitThenHalfOpensAfterCooldown()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Failover!.CircuitBreaker = new CircuitBreakerSpec { MaxFailovers = 2, Window = "10m", Cooldown = "5m" };
        b.Policy.Spec.Failover.FailbackDelay = "1s";
        var t = T0;
        b.PlanAndApply(t);
        // flap: primary fails, fail over; primary heals, fail back; ...
        for (var i = 0; i < 2; i++)
        {
            t = t.AddSeconds(10);
            b.Health["primary"] = Unhealthy(t.AddSeconds(-1), t);
            b.PlanAndApply(t);
            t = t.AddSeconds(10);
            b.Health["primary"] = Healthy(t.AddSeconds(-5));
            b.PlanAndApply(t);
            Assert.Equal(["primary"], b.Policy.Status!.ActiveTargets!);
        }
        t = t.AddSeconds(10);
        b.Health["primary"] = Unhealthy(t.AddSeconds(-1), t);
        var blocked = b.PlanAndApply(t);
        Assert.Null(blocked.Selector);
        Assert.Equal("True", Cond(blocked, ConditionSet.CircuitOpen));
        Assert.Equal("Open", blocked.Status.Failover!.Circuit);
        Assert.Equal(2, blocked.Status.Failover.Count);
        Assert.Contains(blocked.Events, e => e.Reason == Reasons.CircuitOpen);
        var stillOpen = b.PlanAndApply(t.AddMinutes(4));
        Assert.Null(stillOpen.Selector);
        var halfOpen = b.PlanAndApply(t.AddMinutes(5));
        Assert.Equal(new Dictionary<string, string> { ["app"] = "standby" }, halfOpen.Selector);
        Assert.Equal("Closed", halfOpen.Status.Failover!.Circuit);
        Assert.Equal(3, halfOpen.Status.Failover.Count);
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

    [Fact]
    public void Plan_ReplicaFloor_RaisesButNeverLowers()
    {
        var b = new PolicyBuilder();
        b.Deployments["primary"].Spec.Replicas = 1;
        b.Deployments["standby"].Spec.Replicas = 5;
        var plan = PolicyPlanner.Plan(b.Observe(T0));
        Assert.Contains(plan.Scale, s => s.Target == "primary" && s.Replicas == 3);
        Assert.DoesNotContain(plan.Scale, s => s.Target == "standby");
    }

    [Fact]
    public void Plan_HpaOnTarget_RaisesHpaMinInsteadOfReplicas()
    {
        var b = new PolicyBuilder();
        b.Deployments["primary"].Spec.Replicas = 1;
        b.Hpas["primary"] = new k8s.Models.V1HorizontalPodAutoscaler
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = "primary-hpa", NamespaceProperty = "shop" },
            Spec = new k8s.Models.V1HorizontalPodAutoscalerSpec { MinReplicas = 1, MaxReplicas = 10, ScaleTargetRef = new k8s.Models.V1CrossVersionObjectReference { Kind = "Deployment", Name = "primary", ApiVersion = "apps/v1" } },
        };
        var plan = PolicyPlanner.Plan(b.Observe(T0));
        Assert.DoesNotContain(plan.Scale, s => s.Target == "primary");
        Assert.Equal(new HpaAction("primary-hpa", "primary", 3), Assert.Single(plan.HpaMinReplicas));
    }

    [Theory]
    [InlineData("missing-deployment", "spec.targets[1].name: Deployment \"nope\" not found")]
    [InlineData("duplicate", "spec.targets[1].name: duplicate target")]
    [InlineData("missing-service", "spec.service.name: Service \"checkout\" not found")]
    [InlineData("claimed", "spec.service.name: Service \"checkout\" is already steered by ResiliencePolicy \"older\"")]
    [InlineData("bad-interval", "spec.healthCheck.interval")]
    [InlineData("timeout-over-interval", "spec.healthCheck.timeout")]
    [InlineData("unknown-port", "spec.healthCheck.http.port")]
    [InlineData("both-probes", "spec.healthCheck: set http or tcp")]
    [InlineData("match-expressions", "matchExpressions")]
    [InlineData("detection-over-rto", "spec.healthCheck: interval 1s × retries 2 = 2s is longer than spec.objectives.rto 1500ms")]
    public void Plan_InvalidSpec_ReadyFalseNamingTheFieldAndNoActions(string @case, string expected)
    {
        var b = new PolicyBuilder();
        string? claimed = null;
        switch (@case)
        {
            case "missing-deployment": b.Policy.Spec.Targets[1].Name = "nope"; break;
            case "duplicate": b.Policy.Spec.Targets[1].Name = "primary"; break;
            case "missing-service": b.Service = null!; break;
            case "claimed": claimed = "older"; break;
            case "bad-interval": b.Policy.Spec.HealthCheck!.Interval = "5 seconds"; break;
            case "timeout-over-interval": b.Policy.Spec.HealthCheck!.Timeout = "5s"; break;
            case "unknown-port": b.Policy.Spec.HealthCheck!.Http = new HttpProbeSpec { Path = "/", Port = 9999 }; break;
            case "both-probes":
                b.Policy.Spec.HealthCheck!.Http = new HttpProbeSpec { Path = "/", Port = 8080 };
                b.Policy.Spec.HealthCheck.Tcp = new TcpProbeSpec { Port = 8080 };
                break;
            case "detection-over-rto": b.Policy.Spec.Objectives = new ObjectivesSpec { Rto = "1500ms" }; break;
            case "match-expressions":
                b.Deployments["standby"].Spec.Selector.MatchExpressions = [new k8s.Models.V1LabelSelectorRequirement { Key = "app", OperatorProperty = "In", Values = ["x"] }];
                break;
        }
        b.Deployments["primary"].Spec.Replicas = 1; // would be scaled if the spec were valid
        var plan = PolicyPlanner.Plan(b.Observe(T0, claimed));
        Assert.True(plan.Invalid);
        var ready = ConditionSet.Find(plan.Status.Conditions, ConditionSet.Ready)!;
        Assert.Equal(("False", Reasons.InvalidSpec), (ready.Status, ready.Reason));
        Assert.Contains(expected, ready.Message, StringComparison.Ordinal);
        Assert.Empty(plan.Scale);
        Assert.Null(plan.Selector);
        Assert.Contains(plan.Events, e => e.Reason == Reasons.InvalidSpec);
    }

    [Fact]
    public void Plan_ConditionUnchanged_KeepsLastTransitionTime()
    {
        var b = new PolicyBuilder();
        b.PlanAndApply(T0);
        var plan = b.PlanAndApply(T0.AddMinutes(3));
        Assert.All(plan.Status.Conditions!, c => Assert.Equal(T0, c.LastTransitionTime));
        Assert.Equal(ConditionSet.PolicyTypes.Length, plan.Status.Conditions!.Count);
    }

    [Fact]
    public void Plan_ActiveActive_SpansTargetsAddsGatesAndKeepsCapacity()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Mode = ResilienceMode.ActiveActive;
        b.Policy.Spec.Redundancy!.MinReplicas = 2;
        foreach (var d in b.Deployments.Values)
        {
            d.Spec.Replicas = 2;
            d.Spec.Selector.MatchLabels["tier"] = "web";
        }
        var first = b.PlanAndApply(T0);
        Assert.Equal(new Dictionary<string, string> { ["tier"] = "web" }, first.Selector);
        Assert.Equal(2, first.Templates.Count(t => t.ReadinessGate == true));
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var failing = b.PlanAndApply(T0.AddSeconds(11));
        Assert.Contains(failing.Scale, s => s.Target == "standby" && s.Replicas == 4);
        Assert.Equal(["standby"], failing.Status.ActiveTargets!);
        var settled = b.PlanAndApply(T0.AddSeconds(12)); // the reconcile the scale-up triggers
        Assert.Empty(settled.Scale);
        b.Health["primary"] = Healthy(T0.AddSeconds(30));
        var healed = b.PlanAndApply(T0.AddSeconds(30));
        Assert.Contains(healed.Scale, s => s.Target == "standby" && s.Replicas == 2);
    }
}
