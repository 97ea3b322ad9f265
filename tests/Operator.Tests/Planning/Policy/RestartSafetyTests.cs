using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

/// <summary>
/// A restart (or a new leadership term) never moves traffic on what an earlier process recorded:
/// the Service's selector is the truth of where traffic goes, and traffic only moves to a target
/// whose latest check, made by this process, passed.
/// </summary>
public sealed class RestartSafetyTests
{
    /// <summary>The status write after a failover was lost: status still names the primary, the Service selects the standby.</summary>
    private static PolicyBuilder UnrecordedFailover()
    {
        var b = new PolicyBuilder();
        b.PlanAndApply(T0);
        Assert.Equal("primary", b.Service.Spec.Selector["app"]);
        b.Service.Spec.Selector = new Dictionary<string, string> { ["app"] = "standby" };
        return b;
    }

    [Fact]
    public void Plan_StatusLagsBehindTheService_TrafficStaysWhereTheServiceSendsIt()
    {
        var b = UnrecordedFailover();
        // The primary's verdict still says healthy, with one failed check after the restart.
        b.Health["primary"] = new TargetHealth(true, 1, 0, T0.AddSeconds(5), T0.AddMinutes(-10), 3, 0, "0/3 pods ready, need 2", false) { ObservedSince = T0.AddSeconds(6) };
        var plan = b.PlanAndApply(T0.AddSeconds(6));
        Assert.Null(plan.Selector);
        Assert.Equal(["standby"], plan.Status.ActiveTargets!);
    }

    [Fact]
    public void Plan_PreferredTargetFailedItsLatestCheck_NoFailbackToIt()
    {
        var b = UnrecordedFailover();
        b.Health["primary"] = new TargetHealth(true, 1, 0, T0.AddSeconds(5), T0.AddMinutes(-10), 3, 0, "0/3 pods ready, need 2", false);
        var plan = b.PlanAndApply(T0.AddMinutes(1));
        Assert.Null(plan.Selector);
    }

    [Fact]
    public void Plan_VerdictsOnlySeededFromStatus_NothingMoves()
    {
        var b = new PolicyBuilder();
        b.Service.Spec.Selector = new Dictionary<string, string> { ["app"] = "elsewhere" };
        b.Health["primary"] = Healthy(T0.AddMinutes(-10)) with { Seeded = true };
        b.Health["standby"] = Healthy(T0.AddMinutes(-10)) with { Seeded = true };
        var plan = b.PlanAndApply(T0);
        Assert.Null(plan.Selector);
    }

    [Fact]
    public void Plan_FailbackAfterRestart_DelayCountsFromThisProcessFirstCheck()
    {
        var b = UnrecordedFailover();
        // Healthy since long ago per the old status, but this process first saw it at T0+5s (delay 10s).
        b.Health["primary"] = Healthy(T0.AddMinutes(-10)) with { ObservedSince = T0.AddSeconds(5) };
        Assert.Null(b.PlanAndApply(T0.AddSeconds(10)).Selector);
        Assert.Equal("primary", b.PlanAndApply(T0.AddSeconds(15)).Selector!["app"]);
    }

    [Fact]
    public void Next_SeededVerdict_FirstCheckConfirmsItAndStartsTheObservation()
    {
        var seeded = Healthy(T0.AddMinutes(-10)) with { Seeded = true };
        var next = TargetHealth.Next(seeded, new CheckResult(true, 3, 3, 3, "3/3 pods pass"), 2, 1, T0);
        Assert.False(next.Seeded);
        Assert.Equal(T0, next.ObservedSince);
        Assert.True(next.DiffersForStatus(seeded));
        Assert.Equal(T0.AddMinutes(-10), next.LastTransitionTime);
    }
}
