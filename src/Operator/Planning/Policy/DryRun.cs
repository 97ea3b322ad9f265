using System.Globalization;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// spec.enforcement: DryRun. Every change the plan would make outside the policy becomes a
/// <see cref="PlannedAction"/> in status.plannedActions; the events that would announce those
/// changes are replaced by one `DryRun&lt;Action&gt;` event per newly planned action; Ready follows
/// the health of the target the Service really selects. Pure: the reconciler applies nothing of a
/// DryRun plan.
/// </summary>
internal static class DryRun
{
    public const string Scale = "Scale";
    public const string SetHpaMinReplicas = "SetHpaMinReplicas";
    public const string PatchTemplate = "PatchTemplate";
    public const string ApplyPdb = "ApplyPdb";
    public const string DeletePdb = "DeletePdb";
    public const string CreateBackup = "CreateBackup";
    public const string DeleteBackup = "DeleteBackup";
    public const string CreateRestore = "CreateRestore";
    /// <summary>A restore test of a backup asked for (spec.backup.verify).</summary>
    public const string VerifyBackup = "VerifyBackup";
    public const string SteerService = "SteerService";
    public const string SetPodCondition = "SetPodCondition";
    public const string PauseAutoscaler = "PauseAutoscaler";
    public const string ResumeAutoscaler = "ResumeAutoscaler";
    public const string Shed = "Shed";
    public const string Unshed = "Unshed";
    /// <summary>A failover hook Job (fence or promote) that would run before the switch.</summary>
    public const string RunHook = "RunHook";

    /// <summary>Events that announce a change; in DryRun the change is not made, so neither are they.</summary>
    private static readonly HashSet<string> ActionEvents =
    [
        Reasons.Failover, Reasons.Failback, Reasons.ManualFailback, Reasons.TrafficSteered, Reasons.SelectorRestored,
        Reasons.ScaledUp, Reasons.HpaMinRaised, Reasons.CapacityRestored, Reasons.RestoreStarted, Reasons.CatchUpBackup,
        Reasons.AutoscalerPaused, Reasons.AutoscalerResumed, Reasons.CircuitOpen, Reasons.CircuitHalfOpen,
        Reasons.Shed, Reasons.Unshed, Reasons.FallbackActive, Reasons.FallbackReleased,
    ];

    /// <summary>Every external action of <paramref name="plan"/>, in the order Enforce applies them.</summary>
    public static List<PlannedAction> Actions(Observation o, Plan plan)
    {
        var actions = new List<PlannedAction>();
        void Add(string action, string obj, string detail, string reason) =>
            actions.Add(new PlannedAction { Action = action, Object = obj, Detail = detail, Reason = reason });

        foreach (var s in plan.Scale)
            Add(Scale, $"{Workload(o, s.Target)}/{s.Target}", $"replicas {Replicas(o, s.Target)} -> {s.Replicas}", s.Reason);
        foreach (var s in plan.ShedActions)
            Add(s.PreviousReplicas is null ? Unshed : Shed, $"Deployment/{s.Deployment}", $"replicas {Replicas(o, s.Deployment)} -> {s.Replicas}", s.Reason);
        foreach (var h in plan.HpaMinReplicas)
            Add(SetHpaMinReplicas, $"HorizontalPodAutoscaler/{h.HpaName}",
                $"minReplicas {(o.Hpas.TryGetValue(h.Target, out var hpa) ? hpa.Spec.MinReplicas ?? 1 : 1)} -> {h.MinReplicas}",
                $"replica floor for {h.Target}");
        foreach (var t in plan.Templates)
        {
            if (t.ReadinessGate is { } gate)
                Add(PatchTemplate, $"{Workload(o, t.Target)}/{t.Target}", $"{(gate ? "add" : "remove")} readiness gate {PodConditions.Healthy}",
                    "ActiveActive: a pod serves only while the operator's probes pass");
            if (t.Spread is { } spread)
                Add(PatchTemplate, $"{Workload(o, t.Target)}/{t.Target}",
                    $"add topology spread constraint {spread.TopologyKey} maxSkew {spread.MaxSkew} {spread.WhenUnsatisfiable}",
                    "spec.redundancy.spread");
        }
        foreach (var p in plan.Pdbs)
        {
            if (PolicyPlanner.PdbUpToDate(o.OwnedPdbs.FirstOrDefault(e => e.Metadata.Name == p.Name), p)) continue;
            Add(ApplyPdb, $"PodDisruptionBudget/{p.Name}", $"maxUnavailable {p.MaxUnavailable}, selector {Labels(p.Selector)}",
                $"spec.redundancy.podDisruptionBudget for {p.Target}");
        }
        foreach (var name in plan.DeletePdbs)
            Add(DeletePdb, $"PodDisruptionBudget/{name}", "delete", "no longer wanted by the policy");
        foreach (var b in plan.CreateBackups)
            Add(CreateBackup, $"ResilienceBackup/{b.Name}",
                $"location {b.Location}, slot {b.Slot.ToString("O", CultureInfo.InvariantCulture)}" +
                $"{(b.Target is null ? "" : ", target " + b.Target)}",
                "spec.backup schedule");
        foreach (var name in plan.DeleteBackups)
            Add(DeleteBackup, $"ResilienceBackup/{name}", "delete", "spec.backup retention");
        foreach (var r in plan.CreateRestores)
            Add(CreateRestore, $"ResilienceRestore/{r.Name}", $"restore {r.Target} from backup {r.Backup}",
                $"{r.Target} failed at {r.DetectedAt.ToString("O", CultureInfo.InvariantCulture)}");
        foreach (var v in plan.VerifyBackups)
            Add(VerifyBackup, $"ResilienceBackup/{v.Backup}", "restore into a scratch copy and run spec.backup.verify.template",
                $"spec.backup.verify schedule, slot {v.Slot.ToString("O", CultureInfo.InvariantCulture)}");
        foreach (var a in plan.Autoscalers.Where(a => a.Pause))
            Add(PauseAutoscaler, $"ScaledObject/{a.Name}", $"annotate {ScaledObject.PausedAnnotation}=true", a.Reason);
        foreach (var j in plan.HookJobs)
            Add(RunHook, $"Job/{j.Metadata.Name}", $"{j.Metadata.Labels[Entities.Labels.Hook]} hook: {PolicyPlanner.FromTargetEnv}=" +
                $"{j.Spec.Template.Spec.Containers[0].Env?.FirstOrDefault(e => e.Name == PolicyPlanner.FromTargetEnv)?.Value} " +
                $"{PolicyPlanner.ToTargetEnv}={j.Spec.Template.Spec.Containers[0].Env?.FirstOrDefault(e => e.Name == PolicyPlanner.ToTargetEnv)?.Value}",
                "spec.failover.hooks: runs before traffic moves");
        if (plan.Selector is not null)
            Add(SteerService, $"Service/{o.Service?.Metadata.Name}", $"selector {Labels(plan.Selector)}", plan.SelectorReason ?? "");
        foreach (var a in plan.Autoscalers.Where(a => !a.Pause))
            Add(ResumeAutoscaler, $"ScaledObject/{a.Name}", $"remove {ScaledObject.PausedAnnotation}", a.Reason);
        foreach (var g in o.PodGates)
            Add(SetPodCondition, $"Pod/{g.Pod}", $"{PodConditions.Healthy}={(g.Healthy ? "True" : "False")}",
                $"ActiveActive readiness gate: the probes of {g.Target} {(g.Healthy ? "pass" : "fail")} on this pod");
        return actions;
    }

    /// <summary>
    /// Turns a plan into a DryRun report: status.plannedActions, DryRun events for actions not
    /// planned at the previous reconcile, and the Ready condition. Called by the planner after the
    /// traffic decision, which in DryRun already keeps the observed active target.
    /// </summary>
    public static void Apply(Observation o, Plan plan)
    {
        var status = plan.Status;
        var actions = Actions(o, plan);
        status.PlannedActions = actions;

        plan.Events.RemoveAll(e => ActionEvents.Contains(e.Reason));
        var before = (o.Policy.Status?.PlannedActions ?? []).Select(Key).ToHashSet();
        foreach (var a in actions.Where(a => !before.Contains(Key(a))))
            plan.Events.Add(new PlannedEvent("Normal", Reasons.DryRun + a.Action,
                $"dry run, not done: {a.Action} {a.Object}: {a.Detail}{(a.Reason.Length > 0 ? " (" + a.Reason + ")" : "")}"));

        SetReady(o, plan, actions.Count);
    }

    /// <summary>
    /// Ready follows the observed health of the target(s) the Service really selects: True with
    /// reason DryRun when one of them is healthy, False when none is, Unknown before the first checks.
    /// </summary>
    private static void SetReady(Observation o, Plan plan, int planned)
    {
        var status = plan.Status;
        var gen = o.Policy.Metadata.Generation;
        var summary = $"dry run: {planned} planned action{(planned == 1 ? "" : "s")}, nothing enforced";
        var old = ConditionSet.Find(status.Conditions, ConditionSet.Ready);
        var serving = status.ActiveTargets ?? [];
        if (o.Policy.Spec.Mode == ResilienceMode.ActiveActive)
            serving = [.. plan.Spec!.Targets.Select(t => t.Name)
                .Where(n => PolicyPlanner.Selects(o.Service?.Spec.Selector, o.Deployments[n].Spec.Selector.MatchLabels))];
        bool Healthy(string n) => o.Health.TryGetValue(n, out var h) && h.Healthy && !plan.Gates.ContainsKey(n);

        if (serving.Any(n => !o.Health.ContainsKey(n)) || (serving.Count == 0 && old?.Reason == Reasons.NotChecked))
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "Unknown", Reasons.NotChecked, "waiting for the first health checks", gen, o.Now);
        else if (serving.Any(Healthy))
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "True", Reasons.DryRun,
                $"traffic goes to healthy {string.Join(", ", serving.Where(Healthy))}; {summary}", gen, o.Now);
        else if (old is { Status: "False", Reason: Reasons.NoHealthyTarget or Reasons.FailoverDisabled or Reasons.Restoring })
        {
            // the planner's own verdict on the serving target holds (and its Warning event is told once)
        }
        else if (serving.Count == 0)
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "False", Reasons.DryRun,
                $"the Service selects none of the targets; {summary}", gen, o.Now);
        else
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "False", Reasons.TargetUnhealthy,
                $"{serving[0]} receives traffic and is unhealthy: {o.Health[serving[0]].Message}; {summary}", gen, o.Now);
    }

    private static (string, string, string) Key(PlannedAction a) => (a.Action, a.Object, a.Detail);

    private static string Workload(Observation o, string target) =>
        o.Deployments.TryGetValue(target, out var d) ? Workloads.KindOf(d).ToString() : Workloads.Deployment;

    private static int Replicas(Observation o, string target) =>
        o.Deployments.TryGetValue(target, out var d) ? d.Spec.Replicas ?? 1 : 0;

    private static string Labels(IDictionary<string, string> labels) =>
        string.Join(",", labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value));
}
