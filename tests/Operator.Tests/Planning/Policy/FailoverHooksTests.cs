using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

/// <summary>PolicyPlanner.Hooks.cs: StatefulSet targets, fence → promote → switch, fencing Required, DryRun of the hooks.</summary>
public sealed class FailoverHooksTests
{
    private static V1PodTemplateSpec Template() => new() { Spec = new V1PodSpec { Containers = [new V1Container { Name = "hook", Image = "busybox" }] } };

    private static PolicyBuilder Stateful(bool fence = true, bool promote = true, FencingMode fencing = FencingMode.BestEffort, bool scaleToZero = false)
    {
        var b = new PolicyBuilder();
        foreach (var t in b.Policy.Spec.Targets) t.Kind = WorkloadKind.StatefulSet;
        foreach (var d in b.Deployments.Values) d.Kind = Workloads.StatefulSet;
        b.Policy.Spec.Failover!.Fencing = fencing;
        b.Policy.Spec.Failover.Hooks = new FailoverHooksSpec
        {
            Fence = scaleToZero ? new FenceHookSpec { ScaleToZero = true } : fence ? new FenceHookSpec { Template = Template(), Timeout = "1m" } : null,
            Promote = promote ? new HookSpec { Template = Template(), Timeout = "1m" } : null,
        };
        b.PlanAndApply(T0);
        return b;
    }

    private static void Finish(PolicyBuilder b, string hook, DateTime at, bool ok = true)
    {
        var job = b.HookJobs.Single(j => j.Metadata.Labels[Labels.Hook] == hook);
        job.Status = ok
            ? new V1JobStatus { Succeeded = 1, StartTime = at.AddSeconds(-1), CompletionTime = at }
            : new V1JobStatus { Failed = 1, Conditions = [new V1JobCondition { Type = "Failed", Status = "True", Reason = "BackoffLimitExceeded" }] };
    }

    private static string? Reason(Plan p) => ConditionSet.Find(p.Status.Conditions, ConditionSet.Ready)?.Reason;

    [Fact]
    public void Failover_FencesThenPromotesThenSwitches_EachStepRecorded()
    {
        var b = Stateful();
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));

        var fencing = b.PlanAndApply(T0.AddSeconds(11));
        Assert.Null(fencing.Selector);
        var fenceJob = Assert.Single(fencing.HookJobs);
        Assert.Equal(PolicyPlanner.HookFence, fenceJob.Metadata.Labels[Labels.Hook]);
        Assert.Equal(PolicyPlanner.StepFence, fencing.Status.Failover!.Pending!.Step);
        Assert.Equal(Reasons.Fencing, Reason(fencing));
        Assert.Contains(fencing.Events, e => e.Reason == Reasons.FailoverStarted);
        var env = fenceJob.Spec.Template.Spec.Containers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal(("primary", "standby", "checkout"), (env["FROM_TARGET"], env["TO_TARGET"], env["POLICY_NAME"]));
        Assert.Equal("uid-1", Assert.Single(fenceJob.Metadata.OwnerReferences).Uid);
        Assert.Equal(60, fenceJob.Spec.ActiveDeadlineSeconds);

        // While the fence runs: no promote, no switch.
        var running = b.PlanAndApply(T0.AddSeconds(12));
        Assert.Empty(running.HookJobs);
        Assert.Null(running.Selector);

        Finish(b, PolicyPlanner.HookFence, T0.AddSeconds(13));
        var promoting = b.PlanAndApply(T0.AddSeconds(13.5));
        Assert.Null(promoting.Selector);
        Assert.Equal(PolicyPlanner.HookPromote, Assert.Single(promoting.HookJobs).Metadata.Labels[Labels.Hook]);
        Assert.Equal((PolicyPlanner.StepPromote, T0.AddSeconds(13)), (promoting.Status.Failover!.Pending!.Step, promoting.Status.Failover.Pending.FencedAt));
        Assert.Equal(Reasons.Promoting, Reason(promoting));

        Finish(b, PolicyPlanner.HookPromote, T0.AddSeconds(15));
        var switched = b.PlanAndApply(T0.AddSeconds(15.5));
        Assert.Equal(new Dictionary<string, string> { ["app"] = "standby" }, switched.Selector);
        var last = switched.Status.Failover!.Last!;
        Assert.Equal((T0.AddSeconds(13), T0.AddSeconds(15), T0.AddSeconds(15.5)), (last.FencedAt, last.PromotedAt, last.Time));
        Assert.NotNull(last.FenceJob);
        Assert.Null(switched.Status.Failover.Pending);
        Assert.Equal(1, switched.Status.Failover.Count);
    }

    [Fact]
    public void Restart_BeforeTheStatusWrite_SameJobName_AfterTheFence_NeverASecondFence()
    {
        var b = Stateful();
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var before = b.Policy.Status;
        var first = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(11)));
        // The Job was created, the status write was lost: the next decision names the same Job.
        var again = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(12)));
        Assert.Equal(first.HookJobs.Single().Metadata.Name, again.HookJobs.Single().Metadata.Name);
        Assert.Same(before, b.Policy.Status);

        b.PlanAndApply(T0.AddSeconds(11));
        Finish(b, PolicyPlanner.HookFence, T0.AddSeconds(13));
        b.PlanAndApply(T0.AddSeconds(13.5));
        // The fence Job is gone from the cache (a restart before the informer listed it, or deleted):
        // the recorded step is Promote, and the fence is not run again.
        b.HookJobs.RemoveAll(j => j.Metadata.Labels[Labels.Hook] == PolicyPlanner.HookFence);
        b.HookJobs.Clear();
        var resumed = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(20)));
        Assert.Equal(PolicyPlanner.HookPromote, Assert.Single(resumed.HookJobs).Metadata.Labels[Labels.Hook]);
        Assert.Equal(T0.AddSeconds(13), resumed.Status.Failover!.Pending!.FencedAt);
    }

    [Fact]
    public void PromoteFails_TrafficStays_CountsForTheCircuit_AndIsNotRetriedEveryReconcile()
    {
        var b = Stateful();
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.PlanAndApply(T0.AddSeconds(11));
        Finish(b, PolicyPlanner.HookFence, T0.AddSeconds(12));
        b.PlanAndApply(T0.AddSeconds(12));
        Finish(b, PolicyPlanner.HookPromote, T0.AddSeconds(13), ok: false);

        var failed = b.PlanAndApply(T0.AddSeconds(13));
        Assert.Null(failed.Selector);
        Assert.Equal(Reasons.PromoteFailed, Reason(failed));
        Assert.Equal("False", ConditionSet.Find(failed.Status.Conditions, ConditionSet.Ready)!.Status);
        Assert.Contains(failed.Events, e => e.Type == "Warning" && e.Reason == Reasons.PromoteFailed && e.Message.Contains("BackoffLimitExceeded", StringComparison.Ordinal));
        Assert.Equal([T0.AddSeconds(13)], failed.Status.Failover!.RecentFailovers!);
        Assert.Equal(0, failed.Status.Failover.Count);

        var later = b.PlanAndApply(T0.AddSeconds(30));
        Assert.Empty(later.HookJobs);
        Assert.Null(later.Selector);
        Assert.DoesNotContain(later.Events, e => e.Reason == Reasons.PromoteFailed);
        Assert.Equal(PolicyPlanner.StepPromote, later.Status.Failover!.Pending!.FailedStep);
    }

    [Fact]
    public void HookRunningPastItsTimeout_FailsTheStep()
    {
        var b = Stateful();
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var started = b.PlanAndApply(T0.AddSeconds(11));
        Assert.InRange(started.RequeueAfter!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        b.HookJobs[0].Status = new V1JobStatus { Active = 1, StartTime = T0.AddSeconds(11) };
        var late = b.PlanAndApply(T0.AddSeconds(72));
        Assert.Equal(Reasons.FenceFailed, Reason(late));
        Assert.Contains("timed out", late.Status.Failover!.Pending!.Message, StringComparison.Ordinal);
        Assert.Null(late.Selector);
    }

    [Fact]
    public void HookRuns_EachFinishedRunReportedOnce_NeverAtTheReconcilesBeforeOrAfter()
    {
        var b = Stateful();
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        Assert.Empty(b.PlanAndApply(T0.AddSeconds(11)).HookRuns);
        Assert.Empty(b.PlanAndApply(T0.AddSeconds(12)).HookRuns); // the fence runs

        Finish(b, PolicyPlanner.HookFence, T0.AddSeconds(14)); // started at T0+13 s
        // The same decision made twice (a status write lost in between) reports it twice, but the
        // reconciler counts only after the status write that records the finished step.
        Assert.Equal([new HookRun(PolicyPlanner.HookFence, PolicyPlanner.HookSucceeded, 1)], PolicyPlanner.Plan(b.Observe(T0.AddSeconds(14.5))).HookRuns);
        Assert.Equal([new HookRun(PolicyPlanner.HookFence, PolicyPlanner.HookSucceeded, 1)], b.PlanAndApply(T0.AddSeconds(14.5)).HookRuns);
        Assert.Empty(b.PlanAndApply(T0.AddSeconds(15)).HookRuns); // the promote runs; the fence is not reported again

        Finish(b, PolicyPlanner.HookPromote, T0.AddSeconds(18));
        Assert.Equal([new HookRun(PolicyPlanner.HookPromote, PolicyPlanner.HookSucceeded, 1)], b.PlanAndApply(T0.AddSeconds(18.5)).HookRuns);
        Assert.Empty(b.PlanAndApply(T0.AddSeconds(19)).HookRuns);
        Assert.Empty(b.PlanAndApply(T0.AddSeconds(30)).HookRuns);
    }

    [Fact]
    public void HookRuns_FailedAndTimedOut_ReportedOnceEach()
    {
        var failing = Stateful();
        failing.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        failing.PlanAndApply(T0.AddSeconds(11));
        Finish(failing, PolicyPlanner.HookFence, T0.AddSeconds(12));
        failing.PlanAndApply(T0.AddSeconds(12));
        Finish(failing, PolicyPlanner.HookPromote, T0.AddSeconds(15), ok: false);
        // No start or end time on the Job: from the step's start (the fence's end) to now.
        Assert.Equal([new HookRun(PolicyPlanner.HookPromote, PolicyPlanner.HookFailed, 3)], failing.PlanAndApply(T0.AddSeconds(15)).HookRuns);
        Assert.Empty(failing.PlanAndApply(T0.AddSeconds(30)).HookRuns);

        // Past its timeout (1m) by the operator's clock.
        var late = Stateful();
        late.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        late.PlanAndApply(T0.AddSeconds(11));
        late.HookJobs[0].Status = new V1JobStatus { Active = 1, StartTime = T0.AddSeconds(12) };
        Assert.Equal([new HookRun(PolicyPlanner.HookFence, PolicyPlanner.HookTimeout, 60)], late.PlanAndApply(T0.AddSeconds(72)).HookRuns);
        Assert.Empty(late.PlanAndApply(T0.AddSeconds(80)).HookRuns);

        // Ended by Kubernetes at its activeDeadlineSeconds: a timeout too, not a failure of the hook.
        var deadline = Stateful();
        deadline.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        deadline.PlanAndApply(T0.AddSeconds(11));
        deadline.HookJobs[0].Status = new V1JobStatus
        {
            Failed = 1, StartTime = T0.AddSeconds(11),
            Conditions = [new V1JobCondition { Type = "Failed", Status = "True", Reason = "DeadlineExceeded", LastTransitionTime = T0.AddSeconds(71) }],
        };
        Assert.Equal([new HookRun(PolicyPlanner.HookFence, PolicyPlanner.HookTimeout, 60)], deadline.PlanAndApply(T0.AddSeconds(71.5)).HookRuns);
    }

    [Fact]
    public void HookRuns_ScaleToZeroFence_ReportedAsAFenceRun()
    {
        var b = Stateful(promote: false, scaleToZero: true);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11)) with { ReadyPods = 1 };
        Assert.Empty(b.PlanAndApply(T0.AddSeconds(11)).HookRuns);
        b.Health["primary"] = b.Health["primary"] with { ReadyPods = 0 };
        Assert.Equal([new HookRun(PolicyPlanner.HookFence, PolicyPlanner.HookSucceeded, 2)], b.PlanAndApply(T0.AddSeconds(13)).HookRuns);
        Assert.Empty(b.PlanAndApply(T0.AddSeconds(14)).HookRuns);
    }

    [Fact]
    public void FencingRequired_WithoutHook_WaitsForNoReadyPod()
    {
        var b = Stateful(fence: false, promote: false, fencing: FencingMode.Required);
        // http-fail: the probes fail but the pods stay Ready (they could still take writes).
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11)) with { ReadyPods = 3 };
        var held = b.PlanAndApply(T0.AddSeconds(11));
        Assert.Null(held.Selector);
        Assert.Equal(Reasons.Fencing, Reason(held));

        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var moved = b.PlanAndApply(T0.AddSeconds(12));
        Assert.Equal(new Dictionary<string, string> { ["app"] = "standby" }, moved.Selector);
        Assert.Equal(T0.AddSeconds(12), moved.Status.Failover!.Last!.FencedAt);
    }

    [Fact]
    public void FencingRequired_FenceFails_NoTrafficMovesAndNoPromote()
    {
        var b = Stateful(fencing: FencingMode.Required);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11)) with { ReadyPods = 3 };
        b.PlanAndApply(T0.AddSeconds(11));
        Finish(b, PolicyPlanner.HookFence, T0.AddSeconds(12), ok: false);
        var failed = b.PlanAndApply(T0.AddSeconds(12));
        Assert.Null(failed.Selector);
        Assert.Empty(failed.HookJobs);
        Assert.Equal(Reasons.FenceFailed, Reason(failed));
        Assert.DoesNotContain(b.HookJobs, j => j.Metadata.Labels[Labels.Hook] == PolicyPlanner.HookPromote);
    }

    [Fact]
    public void ScaleToZeroFence_ScalesTheFailedTargetDown_AndNoFloorBringsItBack()
    {
        var b = Stateful(promote: false, scaleToZero: true);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11)) with { ReadyPods = 1 };
        var fencing = b.PlanAndApply(T0.AddSeconds(11));
        Assert.Contains(fencing.Scale, s => s.Target == "primary" && s.Replicas == 0);
        Assert.Null(fencing.Selector);
        Assert.Equal(["primary"], fencing.Status.Failover!.Fenced!);

        // Pods still terminating: the fence is not done, and no replica floor scales the target back up meanwhile.
        var terminating = b.PlanAndApply(T0.AddSeconds(11.5));
        Assert.DoesNotContain(terminating.Scale, s => s.Target == "primary");
        Assert.Null(terminating.Selector);
        Assert.Equal(0, b.Deployments["primary"].Spec.Replicas);

        b.Health["primary"] = Cold(T0.AddSeconds(12));
        b.Deployments["primary"].Status = new V1DeploymentStatus { ReadyReplicas = 0 };
        var switched = b.PlanAndApply(T0.AddSeconds(12));
        Assert.Equal(new Dictionary<string, string> { ["app"] = "standby" }, switched.Selector);

        var after = b.PlanAndApply(T0.AddSeconds(30));
        Assert.DoesNotContain(after.Scale, s => s.Target == "primary");
        Assert.Equal(["primary"], after.Status.Failover!.Fenced!);
        Assert.Equal(PolicyPlanner.FencedMessage, after.Status.Targets!.Single(t => t.Name == "primary").Message);
    }

    [Fact]
    public void Failback_RunsTheHooksTheOtherWay()
    {
        var b = Stateful();
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.PlanAndApply(T0.AddSeconds(11));
        Finish(b, PolicyPlanner.HookFence, T0.AddSeconds(12));
        b.PlanAndApply(T0.AddSeconds(12));
        Finish(b, PolicyPlanner.HookPromote, T0.AddSeconds(13));
        b.PlanAndApply(T0.AddSeconds(13));
        Assert.Equal("standby", b.Service.Spec.Selector["app"]);

        b.Health["primary"] = Healthy(T0.AddSeconds(20));
        var failback = b.PlanAndApply(T0.AddSeconds(31));
        Assert.Null(failback.Selector);
        var fence = Assert.Single(failback.HookJobs);
        var env = fence.Spec.Template.Spec.Containers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal(("standby", "primary"), (env["FROM_TARGET"], env["TO_TARGET"]));
        Assert.Equal(Reasons.Failback, failback.Status.Failover!.Pending!.Reason);
        // The hook Jobs of the failover are kept while they are the last switch's; new ones have new names.
        Assert.DoesNotContain(b.HookJobs.Where(j => j != fence), j => j.Metadata.Name == fence.Metadata.Name);
    }

    [Fact]
    public void DryRun_PlansTheHooksAsActions()
    {
        var b = Stateful();
        b.Policy.Spec.Enforcement = EnforcementMode.DryRun;
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var plan = b.PlanAndApply(T0.AddSeconds(11));
        var actions = plan.Status.PlannedActions!;
        Assert.Equal([DryRun.RunHook, DryRun.RunHook, DryRun.SteerService],
            actions.Where(a => a.Action is DryRun.RunHook or DryRun.SteerService).Select(a => a.Action));
        Assert.Contains("fence hook: FROM_TARGET=primary TO_TARGET=standby", actions[0].Detail + actions[1].Detail, StringComparison.Ordinal);
        Assert.Null(plan.Status.Failover!.Pending);
    }

    [Fact]
    public void KindMismatch_IsInvalidSpec_NamingTheField()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Targets[1].Kind = WorkloadKind.StatefulSet; // "standby" is a Deployment
        var plan = b.PlanAndApply(T0);
        Assert.True(plan.Invalid);
        var ready = ConditionSet.Find(plan.Status.Conditions, ConditionSet.Ready)!;
        Assert.Equal(Reasons.InvalidSpec, ready.Reason);
        Assert.StartsWith("spec.targets[1].kind: \"standby\" is a Deployment, not a StatefulSet", ready.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ActiveActiveStatefulSets_RefusedUnlessMultiWriter()
    {
        var spec = new PolicyBuilder().Policy.Spec;
        spec.Mode = ResilienceMode.ActiveActive;
        spec.Targets[1].Kind = WorkloadKind.StatefulSet;
        Assert.Contains(SpecValidation.Policy(spec), e => e.StartsWith("spec.targets[1].kind:", StringComparison.Ordinal) && e.Contains("spec.multiWriter", StringComparison.Ordinal));
        spec.MultiWriter = true;
        Assert.Empty(SpecValidation.Policy(spec));
    }

    [Theory]
    [InlineData(true, false, "spec.failover.hooks.fence: not allowed with spec.mode ActiveActive")]
    [InlineData(false, true, "spec.failover.hooks.promote: not allowed with spec.mode ActiveActive")]
    [InlineData(true, true, "spec.failover.hooks.fence, spec.failover.hooks.promote: not allowed with spec.mode ActiveActive")]
    public void ActiveActiveWithHooks_RefusedAtAdmissionAndByTheReconcilerNamingTheField(bool fence, bool promote, string expected)
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Mode = ResilienceMode.ActiveActive;
        b.Policy.Spec.Failover!.Hooks = new FailoverHooksSpec
        {
            Fence = fence ? new FenceHookSpec { ScaleToZero = true } : null,
            Promote = promote ? new HookSpec { Template = Template() } : null,
        };
        var webhook = Assert.Single(SpecValidation.Policy(b.Policy.Spec));
        Assert.StartsWith(expected, webhook, StringComparison.Ordinal);
        var plan = b.PlanAndApply(T0);
        Assert.True(plan.Invalid);
        Assert.Empty(plan.HookJobs);
        var ready = ConditionSet.Find(plan.Status.Conditions, ConditionSet.Ready)!;
        Assert.Equal(("False", Reasons.InvalidSpec, webhook), (ready.Status, ready.Reason, ready.Message));

        // The same hooks in ActivePassive are fine, and so is ActiveActive without them.
        b.Policy.Spec.Mode = ResilienceMode.ActivePassive;
        Assert.Empty(SpecValidation.Policy(b.Policy.Spec));
        b.Policy.Spec.Mode = ResilienceMode.ActiveActive;
        b.Policy.Spec.Failover.Hooks = new FailoverHooksSpec();
        Assert.Empty(SpecValidation.Policy(b.Policy.Spec));
    }

    [Theory]
    [InlineData(true, true, "spec.failover.hooks.fence: set template or scaleToZero, not both")]
    [InlineData(false, false, "spec.failover.hooks.fence: set template (a Job) or scaleToZero: true")]
    public void FenceSpec_TemplateXorScaleToZero(bool template, bool scaleToZero, string error)
    {
        var spec = new PolicyBuilder().Policy.Spec;
        spec.Failover!.Hooks = new FailoverHooksSpec { Fence = new FenceHookSpec { Template = template ? Template() : null, ScaleToZero = scaleToZero } };
        Assert.Contains(error, SpecValidation.Policy(spec));
    }

    [Fact]
    public void HookJobName_DeterministicShortAndNumbered()
    {
        var name = PolicyPlanner.HookJobName(new string('p', 80), PolicyPlanner.HookPromote, 12);
        Assert.True(name.Length <= 63, name);
        Assert.Equal(name, PolicyPlanner.HookJobName(new string('p', 80), PolicyPlanner.HookPromote, 12));
        Assert.NotEqual(name, PolicyPlanner.HookJobName(new string('p', 80), PolicyPlanner.HookPromote, 13));
    }

    [Fact]
    public void FailedPromote_IsOnePromoteFailedNotification_NotRepeated()
    {
        var b = Stateful();
        b.Policy.Spec.Notifications = new NotificationsSpec { Webhooks = [new WebhookSpec { Url = "http://127.0.0.1:9/hook" }] };
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.PlanAndApply(T0.AddSeconds(11));
        Finish(b, PolicyPlanner.HookFence, T0.AddSeconds(12));
        b.PlanAndApply(T0.AddSeconds(12));
        Finish(b, PolicyPlanner.HookPromote, T0.AddSeconds(13), ok: false);
        var before = Copy(b.Policy);
        b.PlanAndApply(T0.AddSeconds(13));
        var after = Copy(b.Policy);

        var n = Assert.Single(NotificationPlanner.ForPolicy(before, after, T0.AddSeconds(14)));
        Assert.Equal(NotificationType.PromoteFailed, n.Type);
        Assert.Equal(new DateTimeOffset(T0.AddSeconds(13)), n.Time);
        Assert.Equal("Promote", n.Details["step"]);
        b.PlanAndApply(T0.AddSeconds(20));
        Assert.Empty(NotificationPlanner.ForPolicy(after, Copy(b.Policy), T0.AddSeconds(21)));
    }

    private static ResiliencePolicy Copy(ResiliencePolicy p) => k8s.KubernetesJson.Deserialize<ResiliencePolicy>(k8s.KubernetesJson.Serialize(p));

    [Fact]
    public void StoppedFailback_ThenTheServingTargetFails_FailsOverWithNewJobs()
    {
        var b = Stateful();
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.PlanAndApply(T0.AddSeconds(11));
        Finish(b, PolicyPlanner.HookFence, T0.AddSeconds(12));
        b.PlanAndApply(T0.AddSeconds(12));
        Finish(b, PolicyPlanner.HookPromote, T0.AddSeconds(13));
        b.PlanAndApply(T0.AddSeconds(13));
        b.Health["primary"] = Healthy(T0.AddSeconds(20));
        b.PlanAndApply(T0.AddSeconds(31));
        b.HookJobs.Single(j => j.Metadata.Name.Contains("-fence-2-", StringComparison.Ordinal)).Status =
            new V1JobStatus { Failed = 1, Conditions = [new V1JobCondition { Type = "Failed", Status = "True", Reason = "DeadlineExceeded" }] };
        var stopped = b.PlanAndApply(T0.AddSeconds(32));
        Assert.Equal((Reasons.Failback, PolicyPlanner.StepFence), (stopped.Status.Failover!.Pending!.Reason, stopped.Status.Failover.Pending.FailedStep));
        Assert.Empty(b.PlanAndApply(T0.AddSeconds(40)).HookJobs); // a stopped failback is not begun again

        // The standby that serves now fails: that failover is a new move, not the stopped failback.
        b.Health["standby"] = Unhealthy(T0.AddSeconds(50), T0.AddSeconds(51));
        var failover = b.PlanAndApply(T0.AddSeconds(51));
        Assert.Equal(Reasons.Failover, failover.Status.Failover!.Pending!.Reason);
        Assert.Null(failover.Status.Failover.Pending.FailedStep);
        Assert.Contains("-fence-3-", Assert.Single(failover.HookJobs).Metadata.Name, StringComparison.Ordinal);
    }
}
