using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

/// <summary>Reconciling and Stalled as kstatus (Flux) reads them: present only while True.</summary>
public sealed class ProgressConditionsTests
{
    private static k8s.Models.V1Condition? Find(Plan p, string type) => ConditionSet.Find(p.Status.Conditions, type);

    [Fact]
    public void HealthyPolicyAtRest_CarriesNeither()
    {
        var b = new PolicyBuilder();
        b.PlanAndApply(T0);
        var plan = b.PlanAndApply(T0.AddMinutes(1));
        Assert.Equal("True", Find(plan, ConditionSet.Ready)?.Status);
        Assert.Null(Find(plan, ProgressConditions.Reconciling));
        Assert.Null(Find(plan, ProgressConditions.Stalled));
    }

    [Fact]
    public void FirstVisit_BeforeAnyCheck_IsReconciling()
    {
        var b = new PolicyBuilder();
        b.Health.Clear();
        var plan = b.PlanAndApply(T0);
        Assert.Equal(("True", Reasons.NotChecked), (Find(plan, ProgressConditions.Reconciling)?.Status, Find(plan, ProgressConditions.Reconciling)?.Reason));
        Assert.Null(Find(plan, ProgressConditions.Stalled));
    }

    [Fact]
    public void ScalingToTheFloor_IsReconcilingUntilTheReplicasAreReady()
    {
        var b = new PolicyBuilder();
        b.Deployments["primary"].Spec.Replicas = 1;
        var scaling = b.PlanAndApply(T0);
        Assert.Contains(scaling.Scale, s => s.Target == "primary" && s.Replicas == 3);
        Assert.Equal("Updating", Find(scaling, ProgressConditions.Reconciling)?.Reason);
        // Scaled, not all ready yet: still reconciling, and says so.
        b.Health["primary"] = new TargetHealth(true, 0, 5, null, T0, 3, 1, "1/3 pods ready", false);
        var waiting = b.PlanAndApply(T0.AddSeconds(1));
        var reconciling = Find(waiting, ProgressConditions.Reconciling);
        Assert.Equal(("Scaling", "waiting for replicas: primary 1/3 ready"), (reconciling?.Reason, reconciling?.Message));
        b.Health["primary"] = Healthy(T0);
        Assert.Null(Find(b.PlanAndApply(T0.AddSeconds(2)), ProgressConditions.Reconciling));
    }

    [Fact]
    public void NoHealthyTarget_IsStalledNotReconciling_AndClearsOnRecovery()
    {
        var b = new PolicyBuilder();
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.Health["standby"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var down = b.PlanAndApply(T0.AddSeconds(11));
        var stalled = Find(down, ProgressConditions.Stalled);
        Assert.Equal(("True", Reasons.NoHealthyTarget), (stalled?.Status, stalled?.Reason));
        Assert.Null(Find(down, ProgressConditions.Reconciling));
        b.Health["primary"] = Healthy(T0.AddSeconds(20));
        var up = b.PlanAndApply(T0.AddSeconds(20));
        Assert.Null(Find(up, ProgressConditions.Stalled));
    }

    [Fact]
    public void InvalidSpec_IsStalledWithTheFieldInTheMessage()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Targets.Add(new TargetSpec { Name = "missing", Priority = 5 });
        var plan = b.PlanAndApply(T0);
        var stalled = Find(plan, ProgressConditions.Stalled);
        Assert.Equal(Reasons.InvalidSpec, stalled?.Reason);
        Assert.Contains("spec.targets[2].name", stalled?.Message);
    }
}
