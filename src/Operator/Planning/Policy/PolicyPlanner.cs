using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// Pure decision logic: from the policy, what the caches hold and the health verdicts, decides
/// where traffic goes, which Deployments and HPAs to raise, which PDBs must exist, and the new
/// status. No I/O; the time comes in the observation. Deterministic, so a reconcile repeated
/// after a restart or a missed event decides the same.
/// <para>
/// Split by concern over partial files: the common part (validation, target status, disruption
/// budgets, spread, replica floors, selectors) here; PolicyPlanner.ActivePassive (failover and
/// failback), PolicyPlanner.ActiveActive, PolicyPlanner.CircuitBreaker and
/// PolicyPlanner.AutoscalerInterlock (KEDA) beside it.
/// </para>
/// </summary>
internal static partial class PolicyPlanner
{
    public static Plan Plan(Observation o)
    {
        var plan = new Plan();
        var policy = o.Policy;
        var old = policy.Status ?? new ResiliencePolicyStatus();
        var status = new ResiliencePolicyStatus
        {
            ObservedGeneration = policy.Metadata.Generation,
            ActiveTargets = old.ActiveTargets is null ? null : [.. old.ActiveTargets],
            Failover = CopyFailover(old.Failover),
            Conditions = old.Conditions is null ? [] : [.. old.Conditions],
            LastDrill = old.LastDrill, // written by the drill controller; kept as is
            Degradation = old.Degradation, // kept while the spec is invalid: it remembers what is shed
        };
        plan.Status = status;
        var gen = policy.Metadata.Generation;

        var (spec, error) = EffectiveSpec.From(policy.Spec);
        error ??= spec is null ? "spec: invalid" : Validate(spec, o);
        if (error is not null || spec is null)
        {
            plan.Invalid = true;
            error ??= "spec: invalid";
            SetAll(status, gen, o.Now, "Unknown", Reasons.InvalidSpec, error);
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "False", Reasons.InvalidSpec, error, gen, o.Now);
            plan.Events.Add(new PlannedEvent("Warning", Reasons.InvalidSpec, error));
            ProgressConditions.Set(plan, o);
            SetActiveTargetNames(status);
            return plan;
        }
        plan.Spec = spec;
        plan.DryRun = policy.Spec.Enforcement == EnforcementMode.DryRun;
        RecoveryPlanner.Prepare(o, spec, plan);

        status.Targets = [.. spec.ByPriority.Select(t => TargetStatusOf(t, o))];
        var unchecked_ = spec.Targets.Where(t => !o.Health.ContainsKey(t.Name)).Select(t => t.Name).ToList();

        if (spec.Mode == ResilienceMode.ActiveActive) PlanActiveActive(o, spec, plan, unchecked_);
        else PlanActivePassive(o, spec, plan, unchecked_);
        DegradationPlanner.Plan(o, spec, plan, unchecked_.Count == 0);
        if (!plan.DryRun) CleanUpHookJobs(o, plan);

        // Disruption budgets and spread are independent of where traffic goes.
        if (spec.PdbMaxUnavailable is { } maxUnavailable)
        {
            foreach (var t in spec.Targets)
                plan.Pdbs.Add(new PdbAction($"{policy.Metadata.Name}-{t.Name}", t.Name, maxUnavailable,
                    new Dictionary<string, string>(o.Deployments[t.Name].Spec.Selector.MatchLabels)));
        }
        plan.DeletePdbs.AddRange(o.OwnedPdbs.Select(p => p.Metadata.Name).Where(n => plan.Pdbs.All(w => w.Name != n)).Order(StringComparer.Ordinal));
        if (spec.Spread is { } spread)
        {
            foreach (var t in spec.Targets)
            {
                var existing = o.Deployments[t.Name].Spec.Template.Spec.TopologySpreadConstraints;
                if (existing?.Any(c => c.TopologyKey == spread.TopologyKey) != true)
                    AddTemplate(plan, t.Name, null, spread);
            }
        }

        // Healthy condition: every target that is meant to serve passes its checks.
        var unhealthy = status.Targets.Where(t => !t.Healthy && o.Health.TryGetValue(t.Name, out var h) && !h.Cold).Select(t => t.Name).ToList();
        if (unchecked_.Count > 0)
            ConditionSet.Set(status.Conditions!, ConditionSet.Healthy, "Unknown", Reasons.NotChecked,
                $"not checked yet: {string.Join(", ", unchecked_)}", gen, o.Now);
        else if (unhealthy.Count > 0)
            ConditionSet.Set(status.Conditions!, ConditionSet.Healthy, "False", Reasons.TargetsUnhealthy,
                $"unhealthy: {string.Join(", ", unhealthy)}", gen, o.Now);
        else
            ConditionSet.Set(status.Conditions!, ConditionSet.Healthy, "True", Reasons.AllTargetsHealthy, "every target passes its checks", gen, o.Now);
        if (plan.DryRun) DryRun.Apply(o, plan);
        RecoveryPlanner.Finish(o, spec, plan);
        ProgressConditions.Set(plan, o);
        SetActiveTargetNames(status);
        return plan;
    }

    /// <summary>status.activeTargetNames: every active target in one string, in both modes, for kubectl's Active column.</summary>
    private static void SetActiveTargetNames(ResiliencePolicyStatus status) =>
        status.ActiveTargetNames = status.ActiveTargets is { Count: > 0 } active ? string.Join(",", active) : null;

    /// <summary>Whether an existing PodDisruptionBudget already is what the plan wants.</summary>
    public static bool PdbUpToDate(PodDisruptionBudgetObject? existing, PdbAction pdb) =>
        existing is not null && existing.Spec.MaxUnavailable?.Value == pdb.MaxUnavailable.ToString(System.Globalization.CultureInfo.InvariantCulture)
        && SelectorEquals(existing.Spec.Selector?.MatchLabels, pdb.Selector);

    private static string? Validate(EffectiveSpec spec, Observation o)
    {
        for (var i = 0; i < spec.Targets.Count; i++)
        {
            var name = spec.Targets[i].Name;
            var kind = spec.Targets[i].Kind;
            if (!o.Deployments.TryGetValue(name, out var d))
                return $"spec.targets[{i}].name: {kind} \"{name}\" not found in namespace {o.Policy.Metadata.NamespaceProperty}";
            if (Workloads.KindOf(d) != kind)
                return $"spec.targets[{i}].kind: \"{name}\" is a {Workloads.KindOf(d)}, not a {kind}";
            if (d.Spec.Selector?.MatchLabels is not { Count: > 0 })
                return $"spec.targets[{i}].name: {kind} \"{name}\" has no spec.selector.matchLabels; the Service can only be steered by labels";
            if (d.Spec.Selector.MatchExpressions is { Count: > 0 })
                return $"spec.targets[{i}].name: {kind} \"{name}\" selects pods with matchExpressions; only matchLabels can steer a Service";
        }
        if (o.Service is null)
            return $"spec.service.name: Service \"{spec.ServiceName}\" not found in namespace {o.Policy.Metadata.NamespaceProperty}";
        if (o.ServiceClaimedBy is not null)
            return $"spec.service.name: Service \"{spec.ServiceName}\" is already steered by ResiliencePolicy \"{o.ServiceClaimedBy}\"";
        if (spec.Http is { } http && !HasPort(o, spec, http.Port))
            return $"spec.healthCheck.http.port: no container of the targets declares port {http.Port}";
        if (spec.Mode == ResilienceMode.ActiveActive && CommonLabels(o, spec).Count == 0)
            return "spec.targets: ActiveActive needs a label (key and value) shared by every target's selector, for the Service to span them";
        return DegradationPlanner.Validate(o.Policy.Spec.Degradation, spec, o);
    }

    private static bool HasPort(Observation o, EffectiveSpec spec, int port) =>
        spec.Targets.Any(t => o.Deployments[t.Name].Spec.Template.Spec.Containers.Any(c => c.Ports?.Any(p => p.ContainerPort == port) == true
            || c.ReadinessProbe?.HttpGet?.Port?.Value == port.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static TargetStatus TargetStatusOf(TargetSpec t, Observation o)
    {
        var d = o.Deployments[t.Name];
        o.Health.TryGetValue(t.Name, out var h);
        return new TargetStatus
        {
            Name = t.Name,
            Priority = t.Priority,
            DesiredReplicas = d.Spec.Replicas ?? 1,
            ReadyReplicas = h?.ReadyPods ?? d.Status?.ReadyReplicas ?? 0,
            Healthy = h?.Healthy ?? false,
            ConsecutiveFailures = h?.ConsecutiveFailures ?? 0,
            LastTransitionTime = h?.LastTransitionTime,
            Message = h is null ? "not checked yet" : h.Cold ? ColdStandby.Message : h.LastCheckPassed ? "" : h.Message ?? "",
            Cold = h?.Cold == true ? true : null,
            FirstFailureTime = h?.FirstFailureTime,
        };
    }

    private static void RaiseFloor(Observation o, Plan plan, string target, int floor)
    {
        if (floor <= 0 || UnderDrill(o, target)) return;
        if (o.Hpas.TryGetValue(target, out var hpa))
        {
            // An HPA owns the replica count: raise its floor instead of fighting it.
            if ((hpa.Spec.MinReplicas ?? 1) < floor)
            {
                var min = Math.Min(floor, hpa.Spec.MaxReplicas);
                plan.HpaMinReplicas.Add(new HpaAction(hpa.Metadata.Name, target, min));
                plan.Events.Add(new PlannedEvent("Normal", Reasons.HpaMinRaised,
                    $"HorizontalPodAutoscaler {hpa.Metadata.Name} minReplicas raised to {min} for {target}"));
            }
            return;
        }
        if ((o.Deployments[target].Spec.Replicas ?? 1) < floor && plan.Scale.All(s => s.Target != target))
            AddScale(o, plan, target, floor, $"replica floor {floor}");
    }

    private static bool UnderDrill(Observation o, string target) =>
        o.Deployments.TryGetValue(target, out var d) && d.Metadata.Annotations?.ContainsKey(Annotations.Drill) == true;

    private static void AddScale(Observation o, Plan plan, string target, int replicas, string why)
    {
        if (UnderDrill(o, target)) return;
        if (o.Hpas.ContainsKey(target)) { RaiseFloor(o, plan, target, replicas); return; }
        plan.Scale.RemoveAll(s => s.Target == target);
        plan.Scale.Add(new ScaleAction(target, replicas, why));
        plan.Events.Add(new PlannedEvent("Normal", Reasons.ScaledUp, $"{target} scaled from {o.Deployments[target].Spec.Replicas ?? 1} to {replicas}: {why}"));
    }

    private static void AddTemplate(Plan plan, string target, bool? gate, SpreadSpec? spread)
    {
        var i = plan.Templates.FindIndex(t => t.Target == target);
        if (i < 0) { plan.Templates.Add(new TemplateAction(target, gate, spread)); return; }
        plan.Templates[i] = plan.Templates[i] with { ReadinessGate = gate ?? plan.Templates[i].ReadinessGate, Spread = spread ?? plan.Templates[i].Spread };
    }

    private static void SetAll(ResiliencePolicyStatus status, long? gen, DateTime now, string s, string reason, string message)
    {
        foreach (var type in ConditionSet.PolicyTypes)
            ConditionSet.Set(status.Conditions!, type, s, reason, message, gen, now);
    }

    /// <summary>Whether a Service selector selects pods carrying <paramref name="labels"/>.</summary>
    public static bool Selects(IDictionary<string, string>? selector, IDictionary<string, string> labels) =>
        selector is { Count: > 0 } && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);

    public static bool SelectorEquals(IDictionary<string, string>? a, IDictionary<string, string>? b)
    {
        if (a is null || b is null) return (a?.Count ?? 0) == 0 && (b?.Count ?? 0) == 0;
        return a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }

    private static FailoverStatus CopyFailover(FailoverStatus? f) => f is null ? new FailoverStatus() : new FailoverStatus
    {
        Count = f.Count, Circuit = f.Circuit, CircuitOpenedAt = f.CircuitOpenedAt,
        RecentFailovers = f.RecentFailovers is null ? null : [.. f.RecentFailovers],
        Pending = f.Pending, Last = f.Last, SteppedFailovers = f.SteppedFailovers, Fenced = f.Fenced is null ? null : [.. f.Fenced],
    };
}
