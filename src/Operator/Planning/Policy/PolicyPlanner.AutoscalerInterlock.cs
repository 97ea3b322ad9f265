namespace ResilienceOperator.Planning;

// KEDA interlock: the ScaledObjects of the targets of a failover in progress are paused, and only
// the operator's pause is lifted.
internal static partial class PolicyPlanner
{
    /// <summary>
    /// The targets of a failover in progress, from the failure verdict until the Service has
    /// switched and the new active target has its ready replicas; empty otherwise. A pause the
    /// operator set is held until the new active target is ready, a new one only for a failover
    /// that is pending or happened now.
    /// </summary>
    private static (IReadOnlyList<string> Targets, string Why) FailoverInProgress(Observation o, EffectiveSpec spec, Plan plan, string? active)
    {
        var fo = plan.Status.Failover!;
        if (fo.Pending is { } p)
            return ([p.From, p.To], $"failover from {p.From} to {p.To} in progress: waiting for {p.To} to become healthy");
        if (fo.Last is not { Reason: Reasons.Failover } last || last.To != active) return ([], "");
        var floor = Math.Max(1, spec.MinReplicas);
        var ready = o.Health.TryGetValue(last.To, out var h) ? h.ReadyPods : o.Deployments[last.To].Status?.ReadyReplicas ?? 0;
        if (ready >= floor) return ([], "");
        var held = new[] { last.From, last.To }.Any(t => o.ScaledObjects.TryGetValue(t, out var list) && list.Any(s => s.PausedByOperator));
        if (last.Time != o.Now && !held) return ([], "");
        return ([last.From, last.To], $"failover from {last.From} to {last.To}: waiting for {last.To} to have {floor} ready replicas ({ready} now)");
    }

    /// <summary>
    /// KEDA interlock: the ScaledObjects of the targets of a failover in progress are paused (with
    /// a marker saying the operator did it); once it is over, only pauses carrying the marker are lifted.
    /// </summary>
    private static void PlanAutoscalers(Observation o, EffectiveSpec spec, Plan plan, (IReadOnlyList<string> Targets, string Why) failover)
    {
        foreach (var t in spec.Targets)
        {
            if (!o.ScaledObjects.TryGetValue(t.Name, out var scaledObjects)) continue;
            var involved = failover.Targets.Contains(t.Name);
            foreach (var so in scaledObjects.OrderBy(s => s.Metadata.Name, StringComparer.Ordinal))
            {
                if (involved && !so.Paused)
                {
                    plan.Autoscalers.Add(new AutoscalerPauseAction(so.Metadata.Name, t.Name, true, failover.Why));
                    plan.Events.Add(new PlannedEvent("Normal", Reasons.AutoscalerPaused,
                        $"ScaledObject {so.Metadata.Name} of {t.Name} paused: {failover.Why}"));
                }
                else if (!involved && so.PausedByOperator)
                {
                    plan.Autoscalers.Add(new AutoscalerPauseAction(so.Metadata.Name, t.Name, false, "no failover in progress"));
                    plan.Events.Add(new PlannedEvent("Normal", Reasons.AutoscalerResumed,
                        $"ScaledObject {so.Metadata.Name} of {t.Name} resumed: no failover in progress"));
                }
            }
        }
    }
}
