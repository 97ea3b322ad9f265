using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

/// <summary>
/// Tests of PolicyPlanner.cs, the part common to both modes (validation, conditions, replica
/// floors). The other planner files have theirs beside: PolicyPlannerTests.ActivePassive.cs (with
/// RestartSafetyTests and ObserverSuspectPlannerTests), PolicyPlannerTests.ActiveActive.cs,
/// PolicyPlannerTests.CircuitBreaker.cs and AutoscalerInterlockTests.cs.
/// </summary>
public sealed partial class PolicyPlannerTests
{
    private static string? Cond(Plan p, string type) => ConditionSet.Find(p.Status.Conditions, type)?.Status;
    private static string? Reason(Plan p, string type) => ConditionSet.Find(p.Status.Conditions, type)?.Reason;

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
    public void Plan_HealthyTargetFailedACheck_TargetMessageSaysWhyUntilAPassingCheck()
    {
        var b = new PolicyBuilder();
        b.Health["primary"] = new TargetHealth(true, 1, 0, T0, T0.AddMinutes(-5), 3, 3, "1/3 pods pass, need 3: no answer from 10.0.0.7 within 500ms", false);
        var failing = PolicyPlanner.Plan(b.Observe(T0)).Status.Targets!.Single(t => t.Name == "primary");
        Assert.Equal((true, 1, "1/3 pods pass, need 3: no answer from 10.0.0.7 within 500ms"), (failing.Healthy, failing.ConsecutiveFailures, failing.Message));

        b.Health["primary"] = Healthy(T0.AddMinutes(-5));
        Assert.Equal("", PolicyPlanner.Plan(b.Observe(T0.AddSeconds(1))).Status.Targets!.Single(t => t.Name == "primary").Message);
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
}
