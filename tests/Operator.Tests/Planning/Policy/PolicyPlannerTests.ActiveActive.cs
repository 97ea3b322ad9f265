using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

// Tests of PolicyPlanner.ActiveActive.cs.
public sealed partial class PolicyPlannerTests
{
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
