using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

// ActiveActive: the Service spans every target through the labels their selectors share; a
// readiness gate takes an unhealthy target out, and the healthy ones carry its capacity.
internal static partial class PolicyPlanner
{
    private static void PlanActiveActive(Observation o, EffectiveSpec spec, Plan plan, List<string> unchecked_)
    {
        var status = plan.Status;
        var gen = o.Policy.Metadata.Generation;
        var common = CommonLabels(o, spec);
        if (!SelectorEquals(o.Service!.Spec.Selector, common))
        {
            plan.Selector = common;
            plan.SelectorReason = $"{Reasons.TrafficSteered}: ActiveActive, the Service spans every target";
            plan.Events.Add(new PlannedEvent("Normal", Reasons.TrafficSteered,
                $"Service {spec.ServiceName} spans every target ({string.Join(",", common.Select(kv => kv.Key + "=" + kv.Value))})"));
        }
        foreach (var t in spec.Targets)
        {
            var gates = o.Deployments[t.Name].Spec.Template.Spec.ReadinessGates;
            if (gates?.Any(g => g.ConditionType == PodConditions.Healthy) != true) AddTemplate(plan, t.Name, true, null);
        }
        bool Healthy(string n) => o.Health.TryGetValue(n, out var h) && h.Healthy;
        var healthy = spec.Targets.Where(t => Healthy(t.Name)).Select(t => t.Name).ToList();
        // In DryRun the Service may not span the targets yet: only the healthy ones it selects serve.
        status.ActiveTargets = plan.DryRun
            ? [.. healthy.Where(n => Selects(o.Service.Spec.Selector, o.Deployments[n].Spec.Selector.MatchLabels))]
            : healthy;

        // Capacity: what the failing targets should carry is spread over the healthy ones. The base
        // of each target (what its owner set, or the floor) is kept in status so it can be given back.
        var previous = (o.Policy.Status?.Targets ?? []).ToDictionary(t => t.Name);
        var baseOf = new Dictionary<string, int>();
        foreach (var t in spec.Targets)
        {
            var current = o.Deployments[t.Name].Spec.Replicas ?? 1;
            var recorded = previous.TryGetValue(t.Name, out var p) ? p.BaseReplicas : null;
            baseOf[t.Name] = Math.Max(recorded ?? current, spec.MinReplicas);
        }
        var lost = spec.Targets.Where(t => o.Health.TryGetValue(t.Name, out var h) && !h.Healthy).Sum(t => baseOf[t.Name]);
        var extra = healthy.Count == 0 ? 0 : (lost + healthy.Count - 1) / healthy.Count;
        foreach (var ts in status.Targets!)
        {
            var want = baseOf[ts.Name] + (Healthy(ts.Name) ? extra : 0);
            var current = o.Deployments[ts.Name].Spec.Replicas ?? 1;
            var raised = previous.TryGetValue(ts.Name, out var p) && p.BaseReplicas is not null;
            if (want > current)
            {
                AddScale(o, plan, ts.Name, want, extra > 0 ? $"keeping total capacity while {lost} replicas of unhealthy targets are out" : "replica floor");
                if (extra > 0) ts.BaseReplicas = baseOf[ts.Name];
            }
            else if (raised && extra == 0 && current > baseOf[ts.Name] && current == p!.DesiredReplicas)
            {
                // Give back what we added, only if nobody else changed the count since.
                plan.Scale.Add(new ScaleAction(ts.Name, baseOf[ts.Name], "all targets healthy again: extra capacity given back"));
                plan.Events.Add(new PlannedEvent("Normal", Reasons.CapacityRestored, $"{ts.Name} scaled back to {baseOf[ts.Name]}"));
            }
            else if (raised && extra > 0) ts.BaseReplicas = baseOf[ts.Name];
            // Nothing was raised in DryRun: keep only what an earlier Enforce recorded.
            if (plan.DryRun) ts.BaseReplicas = previous.TryGetValue(ts.Name, out var before) ? before.BaseReplicas : null;
        }
        PlanAutoscalers(o, spec, plan, ([], ""));

        ConditionSet.Set(status.Conditions!, ConditionSet.FailedOver, healthy.Count == spec.Targets.Count ? "False" : "True",
            healthy.Count == spec.Targets.Count ? Reasons.OnPreferredTarget : Reasons.CapacityKept,
            healthy.Count == spec.Targets.Count ? "every target serves" : $"serving from {string.Join(", ", healthy)}", gen, o.Now);
        ConditionSet.Set(status.Conditions!, ConditionSet.CircuitOpen, "False", Reasons.CircuitClosed,
            "no automatic failover in ActiveActive mode", gen, o.Now);
        if (unchecked_.Count > 0)
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "Unknown", Reasons.NotChecked, "waiting for the first health checks", gen, o.Now);
        else if (healthy.Count == 0)
        {
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "False", Reasons.NoHealthyTarget, "no target is healthy", gen, o.Now);
            plan.Events.Add(new PlannedEvent("Warning", Reasons.NoHealthyTarget, "no target is healthy"));
        }
        else
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "True", Reasons.Serving, $"serving from {string.Join(", ", healthy)}", gen, o.Now);
    }

    internal static Dictionary<string, string> CommonLabels(Observation o, EffectiveSpec spec)
    {
        Dictionary<string, string>? common = null;
        foreach (var t in spec.Targets)
        {
            var labels = o.Deployments.TryGetValue(t.Name, out var d) ? d.Spec.Selector?.MatchLabels : null;
            if (labels is null) return [];
            common = common is null
                ? new Dictionary<string, string>(labels)
                : common.Where(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value).ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        return common ?? [];
    }
}
