using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// Graceful degradation (spec.degradation), decided after the traffic decision: whether the
/// policy is degraded, which Deployments to shed or give back, and whether the fallback serves.
/// Pure, like <see cref="PolicyPlanner"/>.
/// <para>
/// Ready capacity is the ready replicas of the targets that pass their checks over the desired
/// replicas of every target meant to run. A target scaled to zero (a cold standby) counts for
/// neither: it is not supposed to run. A target that fails its checks counts with its desired
/// replicas and no ready ones, whatever its pods say: its pods are not serving.
/// </para>
/// <para>
/// The annotation <see cref="Annotations.ShedReplicas"/> on a shed Deployment holds the replicas it had
/// before; it is the source of truth across restarts, and status.degradation.shed mirrors it (and
/// remembers which Deployments to look at once a name leaves spec.degradation.shed).
/// </para>
/// </summary>
internal static class DegradationPlanner
{
    /// <summary>
    /// What is wrong with spec.degradation from the spec alone (no cluster state), naming the
    /// field; null when it is fine. Shared by the admission webhook and <see cref="Validate"/>.
    /// </summary>
    public static string? ValidateSpec(DegradationSpec? degradation, IEnumerable<TargetSpec>? targetSpecs)
    {
        if (degradation is null) return null;
        var targets = (targetSpecs ?? []).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var shed = degradation.Shed ?? [];
        for (var i = 0; i < shed.Count; i++)
        {
            var name = shed[i].Name;
            var field = $"spec.degradation.shed[{i}].name";
            if (string.IsNullOrEmpty(name)) return $"{field}: required";
            if (targets.Contains(name)) return $"{field}: \"{name}\" is a target of this policy; a target cannot be shed";
            for (var j = 0; j < i; j++)
                if (shed[j].Name == name) return $"{field}: duplicate \"{name}\" (also spec.degradation.shed[{j}])";
            if (shed[i].Replicas < 0) return $"spec.degradation.shed[{i}].replicas: must not be negative";
        }
        if (degradation.Fallback is { } fallback)
        {
            const string field = "spec.degradation.fallback";
            if (fallback.Length == 0) return $"{field}: must not be empty";
            if (targets.Contains(fallback)) return $"{field}: \"{fallback}\" is a target of this policy; the fallback serves when no target does";
            var i = shed.ToList().FindIndex(s => s.Name == fallback);
            if (i >= 0) return $"{field}: \"{fallback}\" is also shed (spec.degradation.shed[{i}]); a fallback must not be scaled down when it is needed";
        }
        if (degradation.WhenReadyPercentBelow is < 1 or > 100) return "spec.degradation.whenReadyPercentBelow: must be 1..100";
        return null;
    }

    /// <summary>
    /// The first thing wrong with spec.degradation, naming the field; null when it is fine: the
    /// spec-only checks of <see cref="ValidateSpec"/>, then the Deployments it names, from the caches.
    /// </summary>
    public static string? Validate(DegradationSpec? degradation, EffectiveSpec spec, Observation o)
    {
        if (degradation is null) return null;
        if (ValidateSpec(degradation, spec.Targets) is { } error) return error;
        var ns = o.Policy.Metadata.NamespaceProperty;
        var shed = degradation.Shed ?? [];
        for (var i = 0; i < shed.Count; i++)
            if (!o.Deployments.ContainsKey(shed[i].Name)) return $"spec.degradation.shed[{i}].name: Deployment \"{shed[i].Name}\" not found in namespace {ns}";
        if (degradation.Fallback is { } fallback)
        {
            const string field = "spec.degradation.fallback";
            if (!o.Deployments.TryGetValue(fallback, out var d)) return $"{field}: Deployment \"{fallback}\" not found in namespace {ns}";
            if (d.Spec.Selector?.MatchLabels is not { Count: > 0 } || d.Spec.Selector.MatchExpressions is { Count: > 0 })
                return $"{field}: Deployment \"{fallback}\" must select its pods with matchLabels only; the Service is steered by labels";
        }
        return null;
    }

    /// <summary>The replicas a shed Deployment had before, from its annotation; null when it is not shed.</summary>
    public static int? PreviousReplicas(k8s.Models.V1Deployment d) =>
        d.Metadata.Annotations?.TryGetValue(Annotations.ShedReplicas, out var text) == true
        && int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : null;

    /// <summary>
    /// Decides degradation after the traffic decision. <paramref name="allChecked"/> is false until
    /// every target has its first verdict: nothing is shed or given back before then.
    /// </summary>
    public static void Plan(Observation o, EffectiveSpec spec, Plan plan, bool allChecked)
    {
        var status = plan.Status;
        var gen = o.Policy.Metadata.Generation;
        var deg = o.Policy.Spec.Degradation;
        var old = o.Policy.Status?.Degradation;
        var now = o.Now;

        if (deg is null)
        {
            // Not configured (or no longer): whatever is still shed comes back at once.
            foreach (var name in (old?.Shed ?? []).Select(s => s.Name))
                Unshed(o, plan, name, "spec.degradation removed");
            status.Degradation = null;
            ConditionSet.Set(status.Conditions!, ConditionSet.Degraded, "False", Reasons.NotConfigured, "spec.degradation is not set", gen, now);
            return;
        }
        if (!allChecked)
        {
            status.Degradation = old;
            ConditionSet.Set(status.Conditions!, ConditionSet.Degraded, "Unknown", Reasons.NotChecked, "waiting for the first health checks", gen, now);
            return;
        }

        // Ready capacity.
        bool Healthy(string n) => o.Health.TryGetValue(n, out var h) && h.Healthy && !plan.Gates.ContainsKey(n);
        int desired = 0, ready = 0;
        foreach (var t in status.Targets ?? [])
        {
            if (t.DesiredReplicas <= 0) continue;
            desired += t.DesiredReplicas;
            if (Healthy(t.Name)) ready += Math.Min(t.ReadyReplicas, t.DesiredReplicas);
        }
        var percent = desired == 0 ? 0 : ready * 100 / desired;
        var noHealthy = !spec.Targets.Any(t => Healthy(t.Name));
        var degraded = noHealthy || percent < deg.WhenReadyPercentBelow;
        var capacity = $"ready capacity {percent}% ({ready}/{desired} replicas)";
        var why = noHealthy ? "no target is healthy" : $"{capacity} is below {deg.WhenReadyPercentBelow}%";

        // Fallback: the Service points at it while no target is healthy.
        var fallback = string.IsNullOrEmpty(deg.Fallback) ? null : deg.Fallback;
        var fallbackServes = noHealthy && fallback is not null;
        if (fallbackServes) UseFallback(o, spec, plan, fallback!, old?.FallbackActive == true);
        else if (old?.FallbackActive == true) ReleaseFallback(spec, plan, deg.Fallback);
        // In DryRun the fallback serves only if the Service really selects it.
        var fallbackSelected = plan.DryRun
            ? fallback is not null && o.Deployments.TryGetValue(fallback, out var fd)
                && PolicyPlanner.SelectorEquals(o.Service?.Spec.Selector, fd.Spec.Selector?.MatchLabels)
            : fallbackServes;

        // Health run: not degraded, and traffic on a healthy target.
        var healthyRun = !degraded && (status.ActiveTargets ?? []).Any(Healthy);
        DateTime? healthySince = healthyRun ? old?.HealthySince ?? now : null;
        var restoreDue = healthyRun && now - healthySince!.Value >= spec.FailbackDelay;

        var records = new List<ShedRecord>();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in deg.Shed ?? [])
        {
            listed.Add(s.Name);
            var d = o.Deployments[s.Name];
            var current = d.Spec.Replicas ?? 1;
            var previous = PreviousReplicas(d);
            if (degraded)
            {
                // The previous count is written once: a Deployment already shed keeps its annotation.
                var before = previous ?? current;
                if (current > s.Replicas)
                {
                    plan.ShedActions.Add(new ShedAction(s.Name, s.Replicas, before, why));
                    plan.Events.Add(new PlannedEvent("Normal", Reasons.Shed, previous is null
                        ? $"{s.Name} shed: scaled from {current} to {s.Replicas} because {why}"
                        : $"{s.Name} scaled from {current} back down to {s.Replicas}: still degraded, {why}"));
                    // DryRun sheds nothing: only what the annotation says is shed is recorded.
                    if (!plan.DryRun || previous is not null) records.Add(new ShedRecord { Name = s.Name, PreviousReplicas = before });
                }
                else if (previous is { } p) records.Add(new ShedRecord { Name = s.Name, PreviousReplicas = p });
            }
            else if (previous is { } p)
            {
                if (restoreDue)
                {
                    plan.ShedActions.Add(new ShedAction(s.Name, p, null, $"healthy for {GoDuration.Format(spec.FailbackDelay)}"));
                    plan.Events.Add(new PlannedEvent("Normal", Reasons.Unshed,
                        $"{s.Name} scaled back from {current} to {p}: the policy has been healthy for {GoDuration.Format(spec.FailbackDelay)}"));
                    if (plan.DryRun) records.Add(new ShedRecord { Name = s.Name, PreviousReplicas = p }); // still shed: nothing is given back
                }
                else records.Add(new ShedRecord { Name = s.Name, PreviousReplicas = p });
            }
        }
        // A name removed from spec.degradation.shed while shed gets its replicas back at once.
        foreach (var name in (old?.Shed ?? []).Select(s => s.Name).Where(n => !listed.Contains(n)))
            Unshed(o, plan, name, "no longer listed in spec.degradation.shed");

        if (healthyRun && !restoreDue && records.Count > 0)
            plan.RequeueNoLaterThan(healthySince!.Value + spec.FailbackDelay - now);

        status.Degradation = new DegradationStatus
        {
            Active = degraded,
            Since = degraded ? (old?.Active == true ? old.Since ?? now : now) : null,
            ReadyPercent = percent,
            Shed = records.Count > 0 ? records : null,
            FallbackActive = fallbackSelected,
            HealthySince = healthySince,
        };

        var shedText = records.Count == 0 ? "" : "; shed: " + string.Join(", ", records.Select(r =>
        {
            var to = deg.Shed!.FirstOrDefault(s => s.Name == r.Name)?.Replicas;
            return to is null ? r.Name : $"{r.Name} ({r.PreviousReplicas}→{to})";
        }));
        if (degraded)
        {
            var message = why + (fallbackSelected ? $"; fallback {fallback} serves the Service" : "") + shedText;
            ConditionSet.Set(status.Conditions!, ConditionSet.Degraded, "True",
                noHealthy ? Reasons.NoHealthyTarget : Reasons.CapacityBelowThreshold, message, gen, now);
            if (old?.Active != true) plan.Events.Add(new PlannedEvent("Warning", Reasons.Degraded, message));
        }
        else
        {
            var message = $"{capacity}, threshold {deg.WhenReadyPercentBelow}%";
            if (records.Count > 0)
                message += healthyRun
                    ? $"{shedText}; given back once the policy has been healthy for {GoDuration.Format(spec.FailbackDelay)} (since {healthySince:O})"
                    : $"{shedText}; given back once traffic is on a healthy target for {GoDuration.Format(spec.FailbackDelay)}";
            ConditionSet.Set(status.Conditions!, ConditionSet.Degraded, "False", Reasons.CapacityRestored, message, gen, now);
        }
    }

    private static void Unshed(Observation o, Plan plan, string name, string why)
    {
        if (!o.Deployments.TryGetValue(name, out var d) || PreviousReplicas(d) is not { } previous) return;
        plan.ShedActions.Add(new ShedAction(name, previous, null, why));
        plan.Events.Add(new PlannedEvent("Normal", Reasons.Unshed, $"{name} scaled back from {d.Spec.Replicas ?? 1} to {previous}: {why}"));
    }

    private static void UseFallback(Observation o, EffectiveSpec spec, Plan plan, string fallback, bool wasActive)
    {
        var status = plan.Status;
        var gen = o.Policy.Metadata.Generation;
        var labels = o.Deployments[fallback].Spec.Selector.MatchLabels;
        plan.Selector = PolicyPlanner.SelectorEquals(o.Service!.Spec.Selector, labels) ? null : new Dictionary<string, string>(labels);
        plan.SelectorReason = $"{Reasons.FallbackActive}: no target is healthy; the fallback {fallback} serves";
        // DryRun: the Service keeps its real selection, and status says so (DryRun reports the steer).
        if (plan.DryRun) return;
        // No target receives traffic: what the traffic decision said about the Service does not hold.
        plan.Events.RemoveAll(e => e.Reason is Reasons.TrafficSteered or Reasons.SelectorRestored or Reasons.NoHealthyTarget);
        status.ActiveTargets = [];
        var ready = o.Deployments[fallback].Status?.ReadyReplicas ?? 0;
        var message = $"no target is healthy; fallback {fallback} serves the Service ({ready} ready replicas)";
        ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "False", Reasons.NoHealthyTarget,
            $"no target is healthy; fallback {fallback} serves the Service", gen, o.Now);
        plan.Events.Add(new PlannedEvent("Warning", Reasons.NoHealthyTarget, $"no target is healthy; fallback {fallback} serves the Service"));
        ConditionSet.Set(status.Conditions!, ConditionSet.FailedOver, "True", Reasons.FallbackActive, $"traffic goes to the fallback {fallback}", gen, o.Now);
        if (!wasActive || plan.Selector is not null)
            plan.Events.Add(new PlannedEvent("Normal", Reasons.FallbackActive, $"Service {spec.ServiceName} now selects the fallback {fallback}: {message}"));
    }

    private static void ReleaseFallback(EffectiveSpec spec, Plan plan, string? fallback)
    {
        // The traffic decision picked a healthy target again; say it as the end of the fallback.
        var to = plan.Status.ActiveTargets is { Count: > 0 } active ? string.Join(", ", active) : "the targets";
        plan.Events.RemoveAll(e => e.Reason == Reasons.TrafficSteered);
        plan.Events.Add(new PlannedEvent("Normal", Reasons.FallbackReleased,
            $"Service {spec.ServiceName} moved from the fallback {fallback ?? "(removed from spec)"} back to {to}"));
    }
}
