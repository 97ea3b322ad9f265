using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

/// <summary>spec.enforcement: DryRun — the mapping of a plan to planned actions, and a planner that reports instead of acting.</summary>
public sealed class DryRunTests
{
    private static PolicyBuilder DryRunBuilder()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Enforcement = EnforcementMode.DryRun;
        return b;
    }

    private static string Actions(Plan p) => string.Join("\n", (p.Status.PlannedActions ?? []).Select(a => $"{a.Action} {a.Object}: {a.Detail}"));

    private static V1Condition Ready(Plan p) => ConditionSet.Find(p.Status.Conditions, ConditionSet.Ready)!;

    [Fact]
    public void Actions_EveryExternalActionOfAPlan_ObjectAndConcreteDetail()
    {
        var b = new PolicyBuilder();
        b.Hpas["standby"] = new V1HorizontalPodAutoscaler
        {
            Metadata = new V1ObjectMeta { Name = "standby-hpa" },
            Spec = new V1HorizontalPodAutoscalerSpec { MinReplicas = 1, MaxReplicas = 10, ScaleTargetRef = new V1CrossVersionObjectReference { Kind = "Deployment", Name = "standby" } },
        };
        b.OwnedPdbs.Add(new PodDisruptionBudgetObject { Metadata = new V1ObjectMeta { Name = "checkout-old" } });
        b.PodGates.Add(new PodGateAction("primary-abc", "primary", false));
        var plan = new Plan();
        plan.Scale.Add(new ScaleAction("primary", 5, "replica floor 5"));
        plan.HpaMinReplicas.Add(new HpaAction("standby-hpa", "standby", 3));
        plan.Templates.Add(new TemplateAction("primary", true, new SpreadSpec { TopologyKey = "zone", MaxSkew = 1, WhenUnsatisfiable = "DoNotSchedule" }));
        plan.Pdbs.Add(new PdbAction("checkout-primary", "primary", 1, new Dictionary<string, string> { ["track"] = "primary", ["app"] = "checkout" }));
        plan.DeletePdbs.Add("checkout-old");
        plan.CreateBackups.Add(new BackupAction("checkout-b1", "s3", T0, "primary"));
        plan.DeleteBackups.Add("checkout-b0");
        plan.CreateRestores.Add(new RestoreAction("checkout-r1", "primary", "checkout-b1", T0));
        plan.Autoscalers.Add(new AutoscalerPauseAction("standby-so", "standby", true, "failover from primary to standby in progress"));
        plan.Autoscalers.Add(new AutoscalerPauseAction("primary-so", "primary", false, "no failover in progress"));
        plan.Selector = new Dictionary<string, string> { ["track"] = "standby", ["app"] = "checkout" };
        plan.SelectorReason = "Failover: primary is unhealthy";

        var actions = DryRun.Actions(b.Observe(T0), plan);

        Assert.Equal(
        [
            "Scale Deployment/primary: replicas 3 -> 5",
            "SetHpaMinReplicas HorizontalPodAutoscaler/standby-hpa: minReplicas 1 -> 3",
            "PatchTemplate Deployment/primary: add readiness gate resilience.dev/healthy",
            "PatchTemplate Deployment/primary: add topology spread constraint zone maxSkew 1 DoNotSchedule",
            "ApplyPdb PodDisruptionBudget/checkout-primary: maxUnavailable 1, selector app=checkout,track=primary",
            "DeletePdb PodDisruptionBudget/checkout-old: delete",
            "CreateBackup ResilienceBackup/checkout-b1: location s3, slot 2026-11-23T03:00:00.0000000Z, target primary",
            "DeleteBackup ResilienceBackup/checkout-b0: delete",
            "CreateRestore ResilienceRestore/checkout-r1: restore primary from backup checkout-b1",
            "PauseAutoscaler ScaledObject/standby-so: annotate autoscaling.keda.sh/paused=true",
            "SteerService Service/checkout: selector app=checkout,track=standby",
            "ResumeAutoscaler ScaledObject/primary-so: remove autoscaling.keda.sh/paused",
            "SetPodCondition Pod/primary-abc: resilience.dev/healthy=False",
        ], actions.Select(a => $"{a.Action} {a.Object}: {a.Detail}"));
        Assert.Equal("replica floor 5", actions[0].Reason);
        Assert.Equal("Failover: primary is unhealthy", actions.Single(a => a.Action == DryRun.SteerService).Reason);
        Assert.All(actions, a => Assert.False(string.IsNullOrEmpty(a.Reason)));
    }

    [Fact]
    public void Actions_PdbAlreadyAsWanted_NotPlanned()
    {
        var b = new PolicyBuilder();
        b.OwnedPdbs.Add(new PodDisruptionBudgetObject
        {
            Metadata = new V1ObjectMeta { Name = "checkout-primary" },
            Spec = new PodDisruptionBudgetObject.PdbSpec
            {
                MaxUnavailable = 1,
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "primary" } },
            },
        });
        var plan = new Plan();
        plan.Pdbs.Add(new PdbAction("checkout-primary", "primary", 1, new Dictionary<string, string> { ["app"] = "primary" }));
        plan.Pdbs.Add(new PdbAction("checkout-standby", "standby", 1, new Dictionary<string, string> { ["app"] = "standby" }));
        Assert.Equal(["PodDisruptionBudget/checkout-standby"], DryRun.Actions(b.Observe(T0), plan).Select(a => a.Object));
    }

    [Fact]
    public void Plan_Enforce_NoPlannedActions()
    {
        var plan = new PolicyBuilder().PlanAndApply(T0);
        Assert.False(plan.DryRun);
        Assert.Null(plan.Status.PlannedActions);
    }

    [Fact]
    public void Plan_DryRunPrimaryFails_ReportsFailoverWhileStatusKeepsTheRealTarget()
    {
        var b = DryRunBuilder();
        b.Policy.Spec.Redundancy!.PodDisruptionBudget = new PodDisruptionBudgetSpec { MaxUnavailable = 1 };
        var first = b.PlanAndApply(T0);
        Assert.True(first.DryRun);
        Assert.Equal(["primary"], first.Status.ActiveTargets!);
        Assert.Equal("ApplyPdb PodDisruptionBudget/checkout-primary: maxUnavailable 1, selector app=primary\n"
            + "ApplyPdb PodDisruptionBudget/checkout-standby: maxUnavailable 1, selector app=standby", Actions(first));
        Assert.Equal(("True", Reasons.DryRun), (Ready(first).Status, Ready(first).Reason));
        Assert.Equal("traffic goes to healthy primary; dry run: 2 planned actions, nothing enforced", Ready(first).Message);
        Assert.Equal(2, first.Events.Count(e => e.Reason == "DryRunApplyPdb" && e.Type == "Normal"));

        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var failing = b.PlanAndApply(T0.AddSeconds(11));
        // What Enforce would do is reported...
        var steer = failing.Status.PlannedActions!.Single(a => a.Action == DryRun.SteerService);
        Assert.Equal(("Service/checkout", "selector app=standby"), (steer.Object, steer.Detail));
        Assert.StartsWith("Failover: primary is unhealthy", steer.Reason, StringComparison.Ordinal);
        Assert.Contains(failing.Status.PlannedActions!, a => a.Action == DryRun.Scale && a.Object == "Deployment/standby" && a.Detail == "replicas 1 -> 3");
        Assert.Contains(failing.Events, e => e.Reason == "DryRunSteerService" && e.Message.Contains("selector app=standby", StringComparison.Ordinal));
        Assert.Contains(failing.Events, e => e.Reason == "DryRunScale");
        Assert.DoesNotContain(failing.Events, e => e.Reason is Reasons.Failover or Reasons.ScaledUp or "DryRunApplyPdb");
        // ...and the status tells the truth: the Service still selects the failed primary.
        Assert.Equal(["primary"], failing.Status.ActiveTargets!);
        Assert.Equal(0, failing.Status.Failover!.Count);
        Assert.Null(failing.Status.Failover.Last);
        Assert.Null(failing.Status.Failover.Pending);
        Assert.Equal("False", ConditionSet.Find(failing.Status.Conditions, ConditionSet.FailedOver)!.Status);
        Assert.Equal(("False", Reasons.TargetUnhealthy), (Ready(failing).Status, Ready(failing).Reason));
        Assert.EndsWith("dry run: 4 planned actions, nothing enforced", Ready(failing).Message, StringComparison.Ordinal);

        // Recomputed from reality at every reconcile: still listed, told once.
        var again = b.PlanAndApply(T0.AddSeconds(30));
        Assert.Contains(again.Status.PlannedActions!, a => a.Action == DryRun.SteerService);
        Assert.DoesNotContain(again.Events, e => e.Reason.StartsWith(Reasons.DryRun, StringComparison.Ordinal));
        Assert.Equal(0, again.Status.Failover!.Count);

        // The primary recovers: the planned failover is gone.
        b.Health["primary"] = Healthy(T0.AddSeconds(40));
        var recovered = b.PlanAndApply(T0.AddSeconds(41));
        Assert.DoesNotContain(recovered.Status.PlannedActions!, a => a.Action is DryRun.SteerService or DryRun.Scale);
        Assert.Equal(("True", Reasons.DryRun), (Ready(recovered).Status, Ready(recovered).Reason));
        Assert.Equal(new Dictionary<string, string> { ["app"] = "primary" }, b.Service.Spec.Selector);
        Assert.Equal(1, b.Deployments["standby"].Spec.Replicas);
    }

    [Fact]
    public void Plan_DryRunFloorAboveReplicas_PlannedNotReconciling()
    {
        var b = DryRunBuilder();
        b.Policy.Spec.Redundancy!.MinReplicas = 5;
        var plan = b.PlanAndApply(T0);
        Assert.Equal("Scale Deployment/primary: replicas 3 -> 5", Actions(plan));
        Assert.Equal("replica floor 5", plan.Status.PlannedActions![0].Reason);
        Assert.Equal(("True", Reasons.DryRun), (Ready(plan).Status, Ready(plan).Reason));
        // nothing is being applied, so nothing converges: no Reconciling condition
        Assert.Null(ConditionSet.Find(plan.Status.Conditions, ProgressConditions.Reconciling));
        Assert.Equal(3, b.Deployments["primary"].Spec.Replicas);
    }

    [Fact]
    public void Plan_DryRunDegradation_ShedAndFallbackPlannedStatusKeepsReality()
    {
        var b = DryRunBuilder();
        b.Deployments["recommendations"] = Deployment("recommendations", 3);
        b.Deployments["static"] = Deployment("static", 1);
        b.Policy.Spec.Degradation = new DegradationSpec
        {
            WhenReadyPercentBelow = 60, Shed = [new ShedSpec { Name = "recommendations", Replicas = 0 }], Fallback = "static",
        };
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.Health["standby"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var plan = b.PlanAndApply(T0.AddSeconds(11));
        Assert.Contains(plan.Status.PlannedActions!, a => a.Action == DryRun.Shed && a.Object == "Deployment/recommendations" && a.Detail == "replicas 3 -> 0");
        var steer = plan.Status.PlannedActions!.Single(a => a.Action == DryRun.SteerService);
        Assert.Equal("selector app=static", steer.Detail);
        Assert.StartsWith(Reasons.FallbackActive, steer.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(plan.Events, e => e.Reason is Reasons.Shed or Reasons.FallbackActive);
        Assert.Contains(plan.Events, e => e.Reason == "DryRunShed");
        // Degraded is an observation and holds; nothing is shed and the fallback does not serve.
        Assert.Equal("True", ConditionSet.Find(plan.Status.Conditions, ConditionSet.Degraded)!.Status);
        Assert.True(plan.Status.Degradation!.Active);
        Assert.Null(plan.Status.Degradation.Shed);
        Assert.False(plan.Status.Degradation.FallbackActive);
        Assert.Equal(["primary"], plan.Status.ActiveTargets!);
        Assert.NotEqual(Reasons.FallbackActive, ConditionSet.Find(plan.Status.Conditions, ConditionSet.FailedOver)!.Reason);
        Assert.Equal(3, b.Deployments["recommendations"].Spec.Replicas);
    }

    [Fact]
    public void Plan_DryRunColdStandby_ScaleAndNoPendingFailover()
    {
        var b = DryRunBuilder();
        b.Policy.Spec.Redundancy!.StandbyReplicas = 0;
        b.Deployments["standby"].Spec.Replicas = 0;
        b.Health["standby"] = Cold(T0);
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var plan = b.PlanAndApply(T0.AddSeconds(11));
        Assert.Null(plan.Status.Failover!.Pending);
        Assert.Contains(plan.Status.PlannedActions!, a => a.Action == DryRun.Scale && a.Object == "Deployment/standby" && a.Detail == "replicas 0 -> 3");
        Assert.DoesNotContain(plan.Status.PlannedActions!, a => a.Action == DryRun.SteerService); // it would wait for the standby first
        Assert.Equal(Reasons.TargetUnhealthy, Ready(plan).Reason);
    }

    [Fact]
    public void Plan_DryRunServiceSelectsNoTarget_NoActiveTargetAndPlannedSteer()
    {
        var b = DryRunBuilder();
        b.Service.Spec.Selector = new Dictionary<string, string> { ["app"] = "checkout" };
        var plan = b.PlanAndApply(T0);
        Assert.Null(plan.Status.ActiveTargets);
        Assert.Equal("SteerService Service/checkout: selector app=primary", Actions(plan));
        Assert.Equal(("False", Reasons.DryRun), (Ready(plan).Status, Ready(plan).Reason));
        Assert.Contains("selects none of the targets", Ready(plan).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_DryRunThenEnforce_FailsOverFromTheActualState()
    {
        var b = DryRunBuilder();
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.PlanAndApply(T0.AddSeconds(11));
        b.PlanAndApply(T0.AddSeconds(20));

        b.Policy.Spec.Enforcement = EnforcementMode.Enforce;
        b.Policy.Metadata.Generation = 2;
        var plan = b.PlanAndApply(T0.AddSeconds(21));
        Assert.False(plan.DryRun);
        Assert.Null(plan.Status.PlannedActions);
        Assert.Equal(new Dictionary<string, string> { ["app"] = "standby" }, plan.Selector);
        Assert.Equal(["standby"], plan.Status.ActiveTargets!);
        Assert.Equal(1, plan.Status.Failover!.Count);
        Assert.Equal(("primary", "standby", Reasons.Failover), (plan.Status.Failover.Last!.From, plan.Status.Failover.Last.To, plan.Status.Failover.Last.Reason));
        Assert.Contains(plan.Events, e => e.Reason == Reasons.Failover);
        Assert.Contains(plan.Scale, s => s.Target == "standby" && s.Replicas == 3);
    }

    [Fact]
    public void Plan_DryRunManualFailback_AnnotationKeptForEnforce()
    {
        var b = new PolicyBuilder();
        b.Policy.Spec.Failover!.Failback = FailbackMode.Manual;
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        b.PlanAndApply(T0.AddSeconds(11)); // enforced failover to standby
        b.Policy.Spec.Enforcement = EnforcementMode.DryRun;
        b.Health["primary"] = Healthy(T0.AddSeconds(20));
        b.Policy.Metadata.Annotations = new Dictionary<string, string> { [Annotations.Failback] = "now" };
        var plan = b.PlanAndApply(T0.AddSeconds(40));
        Assert.False(plan.ClearFailbackAnnotation);
        Assert.Equal(["standby"], plan.Status.ActiveTargets!);
        Assert.StartsWith(Reasons.ManualFailback, plan.Status.PlannedActions!.Single(a => a.Action == DryRun.SteerService).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_DryRunOnFailRestore_IncidentRestorePlannedNeverGatesTraffic()
    {
        var b = DryRunBuilder();
        b.Policy.Spec.HealthCheck!.OnFail = FailAction.FailoverAndRestore;
        b.Policy.Spec.Restore = new RestoreSpec { Template = new V1PodTemplateSpec { Spec = new V1PodSpec { Containers = [new V1Container { Name = "r", Image = "restore" }] } } };
        var backups = new List<ResilienceBackup>
        {
            new()
            {
                Metadata = new V1ObjectMeta { Name = "checkout-b1", NamespaceProperty = "shop" },
                Spec = new ResilienceBackupSpec { Policy = "checkout", Location = "s3" },
                Status = new ResilienceRunStatus { Phase = RunPhase.Completed, CompletionTime = T0.AddSeconds(-30) },
            },
        };
        Plan Step(DateTime now)
        {
            var plan = PolicyPlanner.Plan(b.Observe(now) with { Backups = backups });
            b.Policy.Status = plan.Status;
            return plan;
        }
        Step(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        Step(T0.AddSeconds(11)); // incident recorded with its restore's name
        var planned = Step(T0.AddSeconds(12));
        Assert.Contains(planned.Status.PlannedActions!, a => a.Action == DryRun.CreateRestore && a.Detail == "restore primary from backup checkout-b1");
        Assert.Empty(planned.Gates);
        // The primary comes back by itself: nothing was restored, the incident closes, nothing stays planned.
        b.Health["primary"] = Healthy(T0.AddSeconds(20));
        var healed = Step(T0.AddSeconds(21));
        Assert.Null(healed.Status.Incidents);
        Assert.Equal(("True", Reasons.DryRun), (Ready(healed).Status, Ready(healed).Reason));
        Assert.Empty(Step(T0.AddSeconds(22)).Status.PlannedActions!);
    }

    [Fact]
    public void Plan_DryRunActiveActive_GateWritesAndTemplatePlanned()
    {
        var b = DryRunBuilder();
        b.Policy.Spec.Mode = ResilienceMode.ActiveActive;
        foreach (var d in b.Deployments.Values) d.Spec.Selector.MatchLabels["tier"] = "checkout";
        b.Service.Spec.Selector = new Dictionary<string, string> { ["tier"] = "checkout" };
        b.PodGates.Add(new PodGateAction("primary-1", "primary", true));
        var plan = b.PlanAndApply(T0);
        Assert.Contains(plan.Status.PlannedActions!, a => a.Action == DryRun.PatchTemplate && a.Object == "Deployment/primary");
        Assert.Contains(plan.Status.PlannedActions!, a => a.Action == DryRun.SetPodCondition && a.Object == "Pod/primary-1" && a.Detail == "resilience.dev/healthy=True");
        Assert.Equal(["primary", "standby"], plan.Status.ActiveTargets!);
        Assert.Equal(Reasons.DryRun, Ready(plan).Reason);
    }
}
