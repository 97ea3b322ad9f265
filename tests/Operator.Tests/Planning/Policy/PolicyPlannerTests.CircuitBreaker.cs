using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

// Tests of PolicyPlanner.CircuitBreaker.cs.
public sealed partial class PolicyPlannerTests
{
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
}
