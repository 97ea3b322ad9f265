using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// The kstatus conditions Flux and other GitOps tools read: <c>Reconciling</c> while the operator is
/// still moving the cluster toward the policy, <c>Stalled</c> while it cannot make progress without
/// a person or a recovering target. Both are "abnormal-true": present only while True, so a policy
/// at rest carries neither. Derived from the Ready condition and the plan, after everything else.
/// </summary>
internal static class ProgressConditions
{
    public const string Reconciling = "Reconciling";
    public const string Stalled = "Stalled";

    /// <summary>Ready reasons that need a person or a recovering target: retrying alone changes nothing.</summary>
    private static readonly HashSet<string> StalledReasons =
        [Reasons.InvalidSpec, Reasons.Forbidden, Reasons.NoHealthyTarget, Reasons.CircuitOpen, Reasons.FailoverDisabled,
            Reasons.FenceFailed, Reasons.PromoteFailed];

    public static void Set(Plan plan, Observation o)
    {
        var status = plan.Status;
        status.Conditions ??= [];
        var gen = o.Policy.Metadata.Generation;
        var ready = ConditionSet.Find(status.Conditions, ConditionSet.Ready);
        (string Reason, string Message)? stalled = null, reconciling = null;

        // A held failover waits for the operator's view to recover, not for the target: no progress meanwhile.
        if (plan.ObserverHold is { } held)
            stalled = (Reasons.ObserverSuspect, held);
        else if (ready is { Status: "False" } && StalledReasons.Contains(ready.Reason))
            stalled = (ready.Reason, ready.Message);
        else if (ready is null || ready.Status == "Unknown")
            reconciling = (Reasons.NotChecked, ready?.Message ?? "waiting for the first reconcile");
        else if (status.Failover?.Pending is { } pending)
            reconciling = (Reasons.WaitingForStandby, $"failover from {pending.From} waits for {pending.To} to become ready");
        else if (plan.Gates.Count > 0)
            reconciling = (Reasons.Restoring, string.Join("; ", plan.Gates.Values));
        else if (ready.Status == "False")
            reconciling = (ready.Reason, ready.Message);
        // DryRun applies nothing, so planned changes are no progress (status.plannedActions lists them).
        else if (!plan.DryRun && (plan.Scale.Count > 0 || plan.HpaMinReplicas.Count > 0 || plan.Templates.Count > 0 || plan.ShedActions.Count > 0))
            reconciling = ("Updating", "applying: " + string.Join(", ", plan.Scale.Select(s => $"{s.Target} to {s.Replicas} replicas")
                .Concat(plan.ShedActions.Select(s => $"{s.Deployment} to {s.Replicas} replicas ({(s.PreviousReplicas is null ? "given back" : "shed")})"))
                .Concat(plan.HpaMinReplicas.Select(h => $"HPA {h.HpaName} minReplicas {h.MinReplicas}"))
                .Concat(plan.Templates.Select(t => $"pod template of {t.Target}"))));
        else if (Short(status, o.Policy.Status?.ActiveTargets) is { } waiting)
            reconciling = ("Scaling", waiting);

        Apply(status.Conditions, Stalled, stalled, gen, o.Now);
        Apply(status.Conditions, Reconciling, reconciling, gen, o.Now);
    }

    /// <summary>Active targets whose ready replicas have not reached what the Deployment asks for.</summary>
    private static string? Short(ResiliencePolicyStatus status, IList<string>? active)
    {
        var names = status.ActiveTargets ?? active ?? [];
        var shortOf = (status.Targets ?? []).Where(t => names.Contains(t.Name) && t.Healthy && t.ReadyReplicas < t.DesiredReplicas)
            .Select(t => $"{t.Name} {t.ReadyReplicas}/{t.DesiredReplicas} ready").ToList();
        return shortOf.Count == 0 ? null : "waiting for replicas: " + string.Join(", ", shortOf);
    }

    private static void Apply(IList<V1Condition> conditions, string type, (string Reason, string Message)? value, long? gen, DateTime now)
    {
        if (value is { } v) ConditionSet.Set(conditions, type, "True", v.Reason, v.Message, gen, now);
        else
        {
            for (var i = conditions.Count - 1; i >= 0; i--)
                if (conditions[i].Type == type) conditions.RemoveAt(i);
        }
    }
}
