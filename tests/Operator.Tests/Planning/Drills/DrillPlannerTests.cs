using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

/// <summary>Guard rails, maxUnavailable, the verdict and its RTO, scheduled names, and the planner's side of a drill.</summary>
public sealed class DrillPlannerTests
{
    /// <summary>A Ready policy serving from healthy primary, as the planner leaves it.</summary>
    private static ResiliencePolicy ReadyPolicy(Action<ResiliencePolicySpec>? configure = null)
    {
        var b = new PolicyBuilder();
        configure?.Invoke(b.Policy.Spec);
        b.PlanAndApply(T0);
        Assert.True(ConditionSet.IsTrue(b.Policy.Status!.Conditions, ConditionSet.Ready));
        return b.Policy;
    }

    private static ResilienceDrill Drill(string name = "d1", DrillAction action = DrillAction.KillPods, int maxUnavailable = 1, DrillPhase? phase = null, string? target = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop" },
        Spec = new ResilienceDrillSpec { Policy = "checkout", Action = action, MaxUnavailable = maxUnavailable },
        Status = phase is null ? null : new ResilienceDrillStatus { Phase = phase, Target = target, InjectedAt = phase == DrillPhase.Running ? T0 : null },
    };

    private static V1Pod Pod(string name, bool ready, bool deleting = false) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop", Labels = new Dictionary<string, string> { ["app"] = "primary" }, DeletionTimestamp = deleting ? T0 : null },
        Status = new V1PodStatus { Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }] },
    };

    private static TargetPods Pods(int desired, params V1Pod[] pods) => new(desired, pods);

    private static string? Guard(ResiliencePolicy? policy, IEnumerable<ResilienceRestore>? restores = null, IEnumerable<ResilienceDrill>? drills = null, DateTime? now = null) =>
        DrillPlanner.Guard(Drill(), policy, restores ?? [], drills ?? [], now ?? T0)?.Reason;

    [Fact]
    public void Guard_ReadyPolicy_Starts() => Assert.Null(Guard(ReadyPolicy()));

    [Fact]
    public void Guard_NoPolicy_Aborted() => Assert.Equal(Reasons.PolicyNotFound, Guard(null));

    [Fact]
    public void Guard_NotReady_Aborted()
    {
        var p = ReadyPolicy();
        ConditionSet.Set(p.Status!.Conditions!, ConditionSet.Ready, "False", Reasons.NoHealthyTarget, "no target is healthy", 1, T0);
        var refusal = DrillPlanner.Guard(Drill(), p, [], [], T0)!;
        Assert.Equal(Reasons.PolicyNotReady, refusal.Reason);
        Assert.Contains("not Ready (NoHealthyTarget: no target is healthy)", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Guard_DegradedWhileReady_Aborted()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Degradation = new DegradationSpec { WhenReadyPercentBelow = 60 };
        b.Health["primary"] = b.Health["primary"] with { ReadyPods = 1 }; // still passes its checks: 1 + 1 of 3 + 1 ready
        b.PlanAndApply(T0);
        Assert.True(ConditionSet.IsTrue(b.Policy.Status!.Conditions, ConditionSet.Ready));
        var refusal = DrillPlanner.Guard(Drill(), b.Policy, [], [], T0)!;
        Assert.Equal(Reasons.PolicyDegraded, refusal.Reason);
        Assert.Contains("ready capacity 50% (2/4 replicas) is below 60%", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Guard_DryRunPolicy_RefusedNamingEnforcement()
    {
        var p = ReadyPolicy(spec => spec.Enforcement = EnforcementMode.DryRun);
        var refusal = DrillPlanner.Guard(Drill(), p, [], [], T0)!;
        Assert.Equal(Reasons.PolicyInDryRun, refusal.Reason);
        Assert.Contains("spec.enforcement DryRun", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Guard_NoStatusYet_NotReady() => Assert.Equal(Reasons.PolicyNotReady, Guard(new PolicyBuilder().Policy));

    [Fact]
    public void Guard_FailoverPending_Aborted()
    {
        var p = ReadyPolicy();
        p.Status!.Failover!.Pending = new PendingFailover { From = "primary", To = "standby", DetectedAt = T0 };
        Assert.Equal(Reasons.FailoverInProgress, Guard(p));
    }

    [Fact]
    public void Guard_FailedOver_Aborted()
    {
        var p = ReadyPolicy();
        ConditionSet.Set(p.Status!.Conditions!, ConditionSet.FailedOver, "True", Reasons.FailedOver, "traffic goes to standby", 1, T0);
        Assert.Equal(Reasons.FailedOver, Guard(p));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData(RunPhase.Pending, true)]
    [InlineData(RunPhase.Running, true)]
    [InlineData(RunPhase.Completed, false)]
    [InlineData(RunPhase.Failed, false)]
    public void Guard_RestoreOfThePolicy_AbortedWhilePendingOrRunning(RunPhase? phase, bool refused)
    {
        var restore = new ResilienceRestore
        {
            Metadata = new V1ObjectMeta { Name = "r1", NamespaceProperty = "shop" },
            Spec = new ResilienceRestoreSpec { Policy = "checkout", Target = "primary" },
            Status = phase is null ? null : new ResilienceRunStatus { Phase = phase },
        };
        Assert.Equal(refused ? Reasons.RestoreInProgress : null, Guard(ReadyPolicy(), restores: [restore]));
    }

    [Theory]
    [InlineData(DrillPhase.Running, true)]
    [InlineData(DrillPhase.Passed, false)]
    [InlineData(DrillPhase.Aborted, false)]
    public void Guard_AnotherDrillOfThePolicy_AbortedWhileItRuns(DrillPhase phase, bool refused)
    {
        var other = Drill("other", phase: phase, target: "primary");
        Assert.Equal(refused ? Reasons.AnotherDrillRunning : null, Guard(ReadyPolicy(), drills: [other, Drill()]));
    }

    [Fact]
    public void Guard_AnotherDrillRunning_NamedBeforeNotReady()
    {
        // The running drill is why the policy is not Ready: the guard names the drill.
        var p = ReadyPolicy();
        ConditionSet.Set(p.Status!.Conditions!, ConditionSet.Ready, "False", Reasons.NoHealthyTarget, "", 1, T0);
        Assert.Equal(Reasons.AnotherDrillRunning, Guard(p, drills: [Drill("other", phase: DrillPhase.Running, target: "primary")]));
    }

    [Fact]
    public void Guard_BackupOlderThanRpo_Aborted_NoBackupBlock_NotApplied()
    {
        var p = ReadyPolicy(spec => spec.Objectives = new ObjectivesSpec { Rpo = "1h" });
        Assert.Null(Guard(p)); // no spec.backup: the guard does not apply

        p.Spec.Backup = new BackupSpec { Schedule = "0 * * * *" };
        Assert.Equal(Reasons.BackupOlderThanRpo, Guard(p)); // none completed yet

        p.Status!.Backup = new BackupScheduleStatus { LastCompleted = "b1", LastCompletedTime = T0.AddMinutes(-30) };
        Assert.Null(Guard(p));
        var refusal = DrillPlanner.Guard(Drill(), p, [], [], T0.AddMinutes(31))!;
        Assert.Equal(Reasons.BackupOlderThanRpo, refusal.Reason);
        Assert.Contains("b1", refusal.Message, StringComparison.Ordinal);

        p.Spec.Objectives = null; // no RPO declared: nothing to compare against
        Assert.Null(Guard(p, now: T0.AddDays(3)));
    }

    [Fact]
    public void Capacity_KillPods_DeletesUpToMaxUnavailableMinusAlreadyUnavailable()
    {
        var p = ReadyPolicy();
        var pods = Pods(3, Pod("c", true), Pod("a", true), Pod("b", true));
        Assert.Equal(["a"], DrillPlanner.Capacity(Drill(), p, "primary", pods).Kill);
        Assert.Equal(["a", "b"], DrillPlanner.Capacity(Drill(maxUnavailable: 2), p, "primary", pods).Kill);
        Assert.Equal(["a", "b", "c"], DrillPlanner.Capacity(Drill(maxUnavailable: 5), p, "primary", pods).Kill);

        var oneDown = Pods(3, Pod("a", true), Pod("b", true), Pod("c", false));
        Assert.Equal(["a"], DrillPlanner.Capacity(Drill(maxUnavailable: 2), p, "primary", oneDown).Kill);
        var (kill, refusal) = DrillPlanner.Capacity(Drill(), p, "primary", oneDown);
        Assert.Empty(kill);
        Assert.Equal(Reasons.MaxUnavailableExceeded, refusal!.Reason);

        // a pod already being deleted counts as unavailable
        Assert.NotNull(DrillPlanner.Capacity(Drill(), p, "primary", Pods(2, Pod("a", true, deleting: true), Pod("b", true))).Refusal);
    }

    [Fact]
    public void Capacity_FailTarget_RefusedWhenAnotherTargetIsUnhealthyAlready()
    {
        var p = ReadyPolicy();
        Assert.Null(DrillPlanner.Capacity(Drill(action: DrillAction.FailTarget), p, "primary", Pods(3)).Refusal);
        p.Status!.Targets!.Single(t => t.Name == "standby").Healthy = false;
        Assert.Equal(Reasons.MaxUnavailableExceeded, DrillPlanner.Capacity(Drill(action: DrillAction.FailTarget), p, "primary", Pods(3)).Refusal?.Reason);
        Assert.Null(DrillPlanner.Capacity(Drill(action: DrillAction.FailTarget, maxUnavailable: 2), p, "primary", Pods(3)).Refusal);
        // a cold standby is not a failure
        p.Status.Targets!.Single(t => t.Name == "standby").Cold = true;
        Assert.Null(DrillPlanner.Capacity(Drill(action: DrillAction.FailTarget), p, "primary", Pods(3)).Refusal);
    }

    [Fact]
    public void Exceeds_WhileRunning_OnlyWhenMoreThanMaxUnavailableAreDown()
    {
        var p = ReadyPolicy();
        var drill = Drill(phase: DrillPhase.Running, target: "primary");
        drill.Status!.Pods = ["a"];
        // the killed pod and its replacement (not Ready yet): one down, allowed
        Assert.Null(DrillPlanner.Exceeds(drill, p, Pods(2, Pod("a", true, deleting: true), Pod("b", true), Pod("c", false))));
        // the other pod fails too: two down, more than maxUnavailable 1
        Assert.NotNull(DrillPlanner.Exceeds(drill, p, Pods(2, Pod("b", false), Pod("c", false))));

        var fail = Drill(action: DrillAction.FailTarget, phase: DrillPhase.Running, target: "primary");
        p.Status!.Targets!.Single(t => t.Name == "primary").Healthy = false;
        Assert.Null(DrillPlanner.Exceeds(fail, p, Pods(0)));
        p.Status.Targets!.Single(t => t.Name == "standby").Healthy = false;
        Assert.Equal(Reasons.MaxUnavailableExceeded, DrillPlanner.Exceeds(fail, p, Pods(0))?.Reason);
    }

    [Fact]
    public void Verdict_KillPods_PassesWhenEveryPodIsReadyAgain_RtoFromInjection()
    {
        var p = ReadyPolicy();
        var drill = Drill(phase: DrillPhase.Running, target: "primary");
        drill.Status!.Pods = ["a"];
        var rto = TimeSpan.FromSeconds(20);
        // stale cache: the killed pod still shows Ready, but it does not count
        Assert.Null(DrillPlanner.Verdict(drill, p, Pods(2, Pod("a", true), Pod("b", true)), rto, false, T0.AddSeconds(0.3)));
        Assert.Null(DrillPlanner.Verdict(drill, p, Pods(2, Pod("b", true), Pod("c", false)), rto, false, T0.AddSeconds(1)));
        var v = DrillPlanner.Verdict(drill, p, Pods(2, Pod("b", true), Pod("c", true)), rto, false, T0.AddSeconds(3.25))!.Value;
        Assert.Equal(DrillPhase.Passed, v.Phase);
        Assert.Equal(3.25, v.RtoSeconds);
        Assert.Contains("RTO 20s", v.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verdict_FailTarget_PassesOnlyOnceAnotherHealthyTargetServes()
    {
        var b = new PolicyBuilder();
        b.PlanAndApply(T0);
        var drill = Drill(action: DrillAction.FailTarget, phase: DrillPhase.Running, target: "primary");
        var rto = TimeSpan.FromSeconds(20);
        // right after the injection the status still says primary serves: not recovered
        Assert.Null(DrillPlanner.Verdict(drill, b.Policy, Pods(0), rto, false, T0.AddSeconds(0.5)));
        // the planner, with primary scaled to zero (cold) under the drill, fails over to standby
        b.Deployments["primary"].Spec.Replicas = 0;
        b.Deployments["primary"].Metadata.Annotations = new Dictionary<string, string> { [Annotations.Drill] = "d1" };
        b.Health["primary"] = Cold(T0.AddSeconds(1));
        var plan = b.PlanAndApply(T0.AddSeconds(1.5));
        Assert.Equal(["standby"], plan.Status.ActiveTargets!);
        Assert.DoesNotContain(plan.Scale, s => s.Target == "primary"); // the floor leaves the drilled target at zero
        var v = DrillPlanner.Verdict(drill, b.Policy, Pods(0), rto, false, T0.AddSeconds(1.6))!.Value;
        Assert.Equal((DrillPhase.Passed, 1.6), (v.Phase, v.RtoSeconds));
    }

    [Fact]
    public void Verdict_NeverServing_FailsExactlyWhenTheRtoRunsOut_DefaultRtoSaidInMessage()
    {
        var p = ReadyPolicy();
        ConditionSet.Set(p.Status!.Conditions!, ConditionSet.Ready, "False", Reasons.NoHealthyTarget, "", 1, T0);
        var drill = Drill(action: DrillAction.FailTarget, phase: DrillPhase.Running, target: "primary");
        var (rto, defaulted) = DrillPlanner.RtoOf(p);
        Assert.Equal((TimeSpan.FromMinutes(5), true), (rto, defaulted));
        Assert.Null(DrillPlanner.Verdict(drill, p, Pods(0), rto, defaulted, T0.AddMinutes(5).AddMilliseconds(-1)));
        var v = DrillPlanner.Verdict(drill, p, Pods(0), rto, defaulted, T0.AddMinutes(5))!.Value;
        Assert.Equal((DrillPhase.Failed, Reasons.RtoExceeded, (double?)null), (v.Phase, v.Reason, v.RtoSeconds));
        Assert.Contains("declares no spec.objectives.rto", v.Message, StringComparison.Ordinal);
        Assert.Equal(T0.AddMinutes(5), DrillPlanner.Deadline(T0, rto));

        p.Spec.Objectives = new ObjectivesSpec { Rto = "45s" };
        Assert.Equal((TimeSpan.FromSeconds(45), false), DrillPlanner.RtoOf(p));
    }

    [Fact]
    public void Verdict_ServingAfterTheRto_IsAFailure()
    {
        var p = ReadyPolicy();
        var drill = Drill(phase: DrillPhase.Running, target: "primary");
        drill.Status!.Pods = ["a"];
        var v = DrillPlanner.Verdict(drill, p, Pods(2, Pod("b", true), Pod("c", true)), TimeSpan.FromSeconds(5), false, T0.AddSeconds(6))!.Value;
        Assert.Equal(DrillPhase.Failed, v.Phase);
    }

    [Fact]
    public void Rto_MeasuredFromInjection_ToTheMillisecond()
    {
        Assert.Equal(12.346, DrillPlanner.RtoSeconds(T0, T0.AddSeconds(12.3456)));
        Assert.Equal(0, DrillPlanner.RtoSeconds(T0, T0.AddSeconds(-1)));
    }

    [Fact]
    public void Names_DeterministicPerSlot_FittedTo63()
    {
        var slot = new DateTime(2026, 11, 23, 3, 0, 0, DateTimeKind.Utc);
        Assert.Equal("checkout-drill-20261123030000", DrillSchedule.DrillName("checkout", slot));
        Assert.Equal(DrillSchedule.DrillName("checkout", slot), DrillSchedule.DrillName("checkout", slot.ToLocalTime()));
        var longPolicy = new string('p', 60);
        var a = DrillSchedule.DrillName(longPolicy, slot);
        var b = DrillSchedule.DrillName(longPolicy, slot.AddHours(1));
        Assert.True(a.Length <= 63, a);
        Assert.Equal(a, DrillSchedule.DrillName(longPolicy, slot));
        Assert.NotEqual(a, b); // a hash of the whole name keeps slots apart
    }

    [Fact]
    public void Schedule_DueOnlyNearTheSlot_AndNotBeforeThePolicyExisted()
    {
        var (schedule, error) = DrillSchedule.Parse("0 3 * * 1");
        Assert.Null(error);
        var monday = new DateTime(2026, 11, 23, 3, 0, 0, DateTimeKind.Utc); // a Monday
        Assert.Equal(monday, schedule!.Due(monday.AddSeconds(5), monday.AddDays(-30)));
        Assert.Equal(monday, schedule.Due(monday.AddMinutes(2), monday.AddDays(-30)));
        Assert.Null(schedule.Due(monday.AddMinutes(3), monday.AddDays(-30))); // missed: not run late
        Assert.Null(schedule.Due(monday.AddSeconds(5), monday.AddSeconds(1))); // policy created after the slot
        Assert.Equal(monday.AddDays(7), schedule.Next(monday));

        var (seconds, _) = DrillSchedule.Parse("*/10 * * * * *");
        Assert.Equal(monday.AddSeconds(10), seconds!.Due(monday.AddSeconds(12), monday.AddDays(-1)));
        Assert.Null(seconds.Due(monday.AddSeconds(16), monday.AddDays(-1))); // more than half a period late

        Assert.Contains("spec.drills.schedule", DrillSchedule.Parse("* * *").Error, StringComparison.Ordinal);
        Assert.Contains("spec.drills.schedule", DrillSchedule.Parse("99 * * * *").Error, StringComparison.Ordinal);
        Assert.NotNull(DrillSchedule.Parse("@daily").Schedule);
    }

    [Fact]
    public void Planner_KeepsLastDrill_AndLeavesADrilledTargetAtZero()
    {
        var b = new PolicyBuilder();
        b.PlanAndApply(T0);
        var record = new DrillRecord { Name = "d1", Result = "Passed", RtoSeconds = 3.2, Time = T0 };
        b.Policy.Status!.LastDrill = record;
        var plan = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(1)));
        Assert.Same(record, plan.Status.LastDrill);

        // primary at zero without the drill mark: the floor scales it back up
        b.Deployments["primary"].Spec.Replicas = 0;
        Assert.Contains(PolicyPlanner.Plan(b.Observe(T0.AddSeconds(2))).Scale, s => s.Target == "primary" && s.Replicas == 3);
        // with it: left alone until the drill removes the mark
        b.Deployments["primary"].Metadata.Annotations = new Dictionary<string, string> { [Annotations.Drill] = "d1" };
        Assert.DoesNotContain(PolicyPlanner.Plan(b.Observe(T0.AddSeconds(3))).Scale, s => s.Target == "primary");
    }
}
