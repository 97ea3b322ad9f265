using k8s.Models;
using ResilienceOperator.Backups;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Policy;

/// <summary>
/// Pure decision logic: from the policy, what the caches hold and the health verdicts, decides
/// where traffic goes, which Deployments and HPAs to raise, which PDBs must exist, and the new
/// status. No I/O; the time comes in the observation. Deterministic, so a reconcile repeated
/// after a restart or a missed event decides the same.
/// </summary>
internal static class PolicyPlanner
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
            ConditionSet.Set(status.Conditions!, ConditionSet.Healthy, "Unknown", Reasons.NotChecked, $"not checked yet: {string.Join(", ", unchecked_)}", gen, o.Now);
        else if (unhealthy.Count > 0)
            ConditionSet.Set(status.Conditions!, ConditionSet.Healthy, "False", Reasons.TargetsUnhealthy, $"unhealthy: {string.Join(", ", unhealthy)}", gen, o.Now);
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
    public static bool PdbUpToDate(Kubernetes.PodDisruptionBudgetObject? existing, PdbAction pdb) =>
        existing is not null && existing.Spec.MaxUnavailable?.Value == pdb.MaxUnavailable.ToString(System.Globalization.CultureInfo.InvariantCulture)
        && SelectorEquals(existing.Spec.Selector?.MatchLabels, pdb.Selector);

    private static string? Validate(EffectiveSpec spec, Observation o)
    {
        for (var i = 0; i < spec.Targets.Count; i++)
        {
            var name = spec.Targets[i].Name;
            if (!o.Deployments.TryGetValue(name, out var d))
                return $"spec.targets[{i}].name: Deployment \"{name}\" not found in namespace {o.Policy.Metadata.NamespaceProperty}";
            if (d.Spec.Selector?.MatchLabels is not { Count: > 0 })
                return $"spec.targets[{i}].name: Deployment \"{name}\" has no spec.selector.matchLabels; the Service can only be steered by labels";
            if (d.Spec.Selector.MatchExpressions is { Count: > 0 })
                return $"spec.targets[{i}].name: Deployment \"{name}\" selects pods with matchExpressions; only matchLabels can steer a Service";
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
            Message = h is null ? "not checked yet" : h.Cold ? ColdStandby.Message : h.Healthy ? "" : h.Message ?? "",
        };
    }

    private static void PlanActivePassive(Observation o, EffectiveSpec spec, Plan plan, List<string> unchecked_)
    {
        var status = plan.Status;
        var gen = o.Policy.Metadata.Generation;
        var fo = status.Failover!;
        var byName = spec.Targets.ToDictionary(t => t.Name);
        // A target being restored is not a place for traffic, whatever its checks say.
        bool Healthy(string n) => o.Health.TryGetValue(n, out var h) && h.Healthy && !plan.Gates.ContainsKey(n);
        bool Cold(string n) => o.Health.TryGetValue(n, out var h) && h.Cold && !plan.Gates.ContainsKey(n);
        bool Known(string n) => o.Health.ContainsKey(n);
        // Traffic only ever moves to a target whose latest check, made by this process, passed.
        bool Receivable(string n) => Healthy(n) && o.Health[n] is { LastCheckPassed: true, Seeded: false };
        // Verdicts taken over from status (a restart, a new term) are not yet confirmed: nothing moves.
        var unconfirmed = spec.Targets.Any(t => o.Health.TryGetValue(t.Name, out var h) && h.Seeded);

        // The target the Service really selects is the truth of where traffic goes: status may lag
        // behind it (a status write that failed after the Service was switched) and must never
        // send traffic back. Status names the active target only when the Service selects none.
        var actual = spec.ByPriority.FirstOrDefault(t => SelectorEquals(o.Service!.Spec.Selector, o.Deployments[t.Name].Spec.Selector.MatchLabels))?.Name;
        var realFailover = CopyFailover(fo);
        var current = plan.DryRun ? actual : actual ?? status.ActiveTargets?.FirstOrDefault(byName.ContainsKey);
        var best = spec.ByPriority.FirstOrDefault(t => Receivable(t.Name))?.Name;
        string? next = current;
        string? reason = null;
        var blocked = (Reason: (string?)null, Message: "");

        if (fo.Pending is { } pending && (!byName.ContainsKey(pending.To) || pending.From != current))
            fo.Pending = null;

        if (unconfirmed)
        {
            // wait for this process's first check of every target
        }
        else if (current is null)
        {
            if (best is not null) { next = best; reason = Reasons.TrafficSteered; }
            else if (unchecked_.Count == 0) blocked = (Reasons.NoHealthyTarget, "no target is healthy; the Service is left as it is");
        }
        else if (!Known(current))
        {
            // wait for the first verdict before moving anything
        }
        else if (Healthy(current))
        {
            fo.Pending = null;
            if (best is not null && best != current && byName[best].Priority < byName[current].Priority)
            {
                var h = o.Health[best];
                if (spec.Failback == FailbackMode.Manual)
                {
                    if (o.Policy.Metadata.Annotations?.ContainsKey(Annotations.Failback) == true)
                    {
                        next = best; reason = Reasons.ManualFailback; plan.ClearFailbackAnnotation = true;
                    }
                    else blocked = (null, $"{best} is healthy again; failback is Manual: annotate the policy with {Annotations.Failback}=now");
                }
                else
                {
                    var healthySince = h.ObservedSince is { } observed && observed > h.LastTransitionTime ? observed : h.LastTransitionTime;
                    var due = healthySince + spec.FailbackDelay;
                    if (o.Now >= due) { next = best; reason = Reasons.Failback; }
                    else plan.RequeueNoLaterThan(due - o.Now);
                }
            }
            else if (plan.ClearFailbackAnnotation == false && o.Policy.Metadata.Annotations?.ContainsKey(Annotations.Failback) == true)
            {
                plan.ClearFailbackAnnotation = true; // nothing better to go back to: the request is spent
            }
        }
        else if (spec.OnFail is FailAction.None or FailAction.Restore)
        {
            blocked = plan.Gates.TryGetValue(current, out var gate)
                ? (Reasons.Restoring, gate)
                : (Reasons.FailoverDisabled, $"{current} is unhealthy and healthCheck.onFail is {spec.OnFail}");
        }
        else
        {
            var currentHealth = o.Health[current];
            var candidate = fo.Pending?.To
                ?? spec.ByPriority.FirstOrDefault(t => t.Name != current && (Receivable(t.Name) || Cold(t.Name)))?.Name;
            if (candidate is null)
            {
                blocked = (Reasons.NoHealthyTarget, $"{current} is unhealthy ({currentHealth.Message}) and no other target is healthy; traffic stays put");
            }
            else if (o.ObserverSuspect is { } suspicion)
            {
                // Traffic stays, no standby is scaled for it and the circuit breaker counts
                // nothing; Ready still tells the truth about the serving target. The prober
                // enqueues the policy again when the suspicion ends.
                plan.ObserverHold = $"failover from unhealthy {current} to {candidate} held: {suspicion}";
                var before = ConditionSet.Find(o.Policy.Status?.Conditions, ProgressConditions.Stalled);
                if (before?.Reason != Reasons.ObserverSuspect)
                    plan.Events.Add(new PlannedEvent("Warning", Reasons.ObserverSuspect, plan.ObserverHold));
            }
            else if (fo.Pending is null && !CircuitAllows(spec, fo, o.Now, plan, out var circuitMessage))
            {
                blocked = (Reasons.CircuitOpen, circuitMessage);
            }
            else if (Receivable(candidate))
            {
                next = candidate; reason = Reasons.Failover;
            }
            else
            {
                fo.Pending ??= new PendingFailover
                {
                    From = current, To = candidate, FirstFailureTime = currentHealth.FirstFailureTime, DetectedAt = currentHealth.LastTransitionTime,
                };
                var replicas = Math.Max(1, spec.MinReplicas);
                if ((o.Deployments[candidate].Spec.Replicas ?? 0) < replicas)
                    AddScale(o, plan, candidate, replicas, $"cold standby scaled up to take traffic from {current}");
                blocked = (Reasons.WaitingForStandby, $"{current} is unhealthy; waiting for {candidate} to become healthy before moving traffic");
                plan.RequeueNoLaterThan(spec.Interval);
            }
        }

        if (next is not null && next != current || (next is not null && reason == Reasons.TrafficSteered))
            Switch(o, spec, plan, current, next!, reason!);
        else if (next is not null && !unconfirmed && !SelectorEquals(o.Service!.Spec.Selector, o.Deployments[next].Spec.Selector.MatchLabels))
        {
            plan.Selector = new Dictionary<string, string>(o.Deployments[next].Spec.Selector.MatchLabels);
            plan.SelectorReason = $"{Reasons.SelectorRestored}: the Service must select the active target {next}";
            plan.Events.Add(new PlannedEvent("Normal", Reasons.SelectorRestored, $"Service {spec.ServiceName} selector set back to {next}"));
        }
        status.ActiveTargets = next is null ? status.ActiveTargets : [next];
        PlanAutoscalers(o, spec, plan, FailoverInProgress(o, spec, plan, next));
        if (plan.DryRun)
        {
            // Keep what was observed, drop what did not happen: the Service still selects
            // `actual`, no failover was recorded, no standby is being waited for.
            status.ActiveTargets = actual is null ? null : [actual];
            realFailover.Pending = null;
            if (realFailover.RecentFailovers is { } recent) realFailover.RecentFailovers = [.. recent.Where(t => o.Now - t < spec.Window)];
            status.Failover = realFailover;
            if (reason == Reasons.ManualFailback) plan.ClearFailbackAnnotation = false;
        }
        var serving = plan.DryRun ? actual : next;

        // Replica floors: minReplicas on the active target (or, before there is one, the preferred
        // target), standbyReplicas on passive ones.
        var floorTarget = next ?? spec.ByPriority[0].Name;
        foreach (var t in spec.Targets)
        {
            var floor = t.Name == floorTarget ? spec.MinReplicas : spec.StandbyReplicas ?? 0;
            if (fo.Pending?.To == t.Name) floor = Math.Max(floor, Math.Max(1, spec.MinReplicas));
            RaiseFloor(o, plan, t.Name, floor);
        }

        // Conditions.
        var onBest = serving is not null && serving == spec.ByPriority[0].Name;
        ConditionSet.Set(status.Conditions!, ConditionSet.FailedOver, onBest || serving is null ? "False" : "True",
            onBest || serving is null ? Reasons.OnPreferredTarget : Reasons.FailedOver,
            serving is null ? "no target receives traffic" : onBest ? $"traffic goes to the preferred target {serving}" : $"traffic goes to {serving}, not the preferred {spec.ByPriority[0].Name}",
            gen, o.Now);
        SetCircuitCondition(status, gen, o.Now, spec);
        if (blocked.Reason is not null)
        {
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "False", blocked.Reason, blocked.Message, gen, o.Now);
            if (blocked.Reason is Reasons.NoHealthyTarget or Reasons.CircuitOpen or Reasons.FailoverDisabled)
                plan.Events.Add(new PlannedEvent("Warning", blocked.Reason, blocked.Message));
        }
        else if (next is null || !Known(next))
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "Unknown", Reasons.NotChecked, "waiting for the first health checks", gen, o.Now);
        else if (!Healthy(next))
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "False", Reasons.TargetUnhealthy, $"{next} receives traffic and is unhealthy: {o.Health[next].Message}", gen, o.Now);
        else
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "True", Reasons.Serving,
                blocked.Message.Length > 0 ? $"traffic goes to healthy {next}; {blocked.Message}" : $"traffic goes to healthy {next}", gen, o.Now);
    }

    private static void Switch(Observation o, EffectiveSpec spec, Plan plan, string? from, string to, string reason)
    {
        var fo = plan.Status.Failover!;
        var selector = o.Deployments[to].Spec.Selector.MatchLabels;
        if (!SelectorEquals(o.Service!.Spec.Selector, selector))
            plan.Selector = new Dictionary<string, string>(selector);
        if (reason == Reasons.TrafficSteered)
        {
            if (plan.Selector is not null)
            {
                plan.SelectorReason = $"{Reasons.TrafficSteered}: {to} is the highest-priority healthy target";
                plan.Events.Add(new PlannedEvent("Normal", Reasons.TrafficSteered, $"Service {spec.ServiceName} now selects {to}"));
            }
            return;
        }
        double? detection = null, switchSeconds = null;
        if (reason == Reasons.Failover && from is not null)
        {
            var h = o.Health[from];
            var detectedAt = fo.Pending?.DetectedAt ?? h.LastTransitionTime;
            var firstFailure = fo.Pending?.FirstFailureTime ?? h.FirstFailureTime;
            if (firstFailure is { } ff) detection = Math.Round((detectedAt - ff).TotalSeconds + spec.Interval.TotalSeconds, 3);
            switchSeconds = Math.Round((o.Now - detectedAt).TotalSeconds, 3);
            fo.Count++;
            fo.RecentFailovers = [.. (fo.RecentFailovers ?? []).Where(t => o.Now - t < spec.Window), o.Now];
            if (fo.Circuit == "HalfOpen") { fo.Circuit = "Closed"; fo.CircuitOpenedAt = null; fo.RecentFailovers = [o.Now]; }
        }
        fo.Pending = null;
        fo.Last = new FailoverRecord { From = from ?? "", To = to, Time = o.Now, Reason = reason, DetectionSeconds = detection, SwitchSeconds = switchSeconds };
        var type = reason == Reasons.Failover ? "Warning" : "Normal";
        var msg = reason switch
        {
            Reasons.Failover => $"traffic moved from unhealthy {from} to {to} ({Figures.FailoverTimes(detection, switchSeconds)})",
            Reasons.ManualFailback => $"traffic moved back from {from} to {to} on request ({Annotations.Failback})",
            _ => $"traffic moved back from {from} to {to} after {GoDuration.Format(spec.FailbackDelay)} of health",
        };
        plan.Events.Add(new PlannedEvent(type, reason, msg));
        plan.SelectorReason = reason switch
        {
            Reasons.Failover => $"{reason}: {from} is unhealthy ({o.Health[from!].Message}) and {to} is healthy",
            Reasons.ManualFailback => $"{reason}: {to} is healthy again and {Annotations.Failback} asks for it",
            _ => $"{reason}: {to} has been healthy for {GoDuration.Format(spec.FailbackDelay)}",
        };
    }

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
                    plan.Events.Add(new PlannedEvent("Normal", Reasons.AutoscalerPaused, $"ScaledObject {so.Metadata.Name} of {t.Name} paused: {failover.Why}"));
                }
                else if (!involved && so.PausedByOperator)
                {
                    plan.Autoscalers.Add(new AutoscalerPauseAction(so.Metadata.Name, t.Name, false, "no failover in progress"));
                    plan.Events.Add(new PlannedEvent("Normal", Reasons.AutoscalerResumed, $"ScaledObject {so.Metadata.Name} of {t.Name} resumed: no failover in progress"));
                }
            }
        }
    }

    /// <summary>
    /// Circuit breaker on automatic failovers: maxFailovers inside window are allowed; one more
    /// opens the circuit; after cooldown a single failover is allowed (half-open), and if it
    /// happens the count starts again from it.
    /// </summary>
    private static bool CircuitAllows(EffectiveSpec spec, FailoverStatus fo, DateTime now, Plan plan, out string message)
    {
        message = "";
        if (fo.Circuit == "Open")
        {
            if (fo.CircuitOpenedAt is { } opened && now - opened >= spec.Cooldown)
            {
                fo.Circuit = "HalfOpen";
                plan.Events.Add(new PlannedEvent("Normal", Reasons.CircuitHalfOpen, $"cooldown of {GoDuration.Format(spec.Cooldown)} passed: one failover allowed"));
                return true;
            }
            var until = (fo.CircuitOpenedAt ?? now) + spec.Cooldown;
            plan.RequeueNoLaterThan(until - now);
            message = $"circuit open: automatic failover stopped until {until:O} after too many failovers";
            return false;
        }
        if (fo.Circuit == "HalfOpen") return true;
        var recent = (fo.RecentFailovers ?? []).Where(t => now - t < spec.Window).ToList();
        fo.RecentFailovers = recent;
        if (recent.Count < spec.MaxFailovers) return true;
        fo.Circuit = "Open";
        fo.CircuitOpenedAt = now;
        message = $"circuit opened: {recent.Count} failovers within {GoDuration.Format(spec.Window)} (maxFailovers {spec.MaxFailovers}); automatic failover stopped for {GoDuration.Format(spec.Cooldown)}";
        plan.Events.Add(new PlannedEvent("Warning", Reasons.CircuitOpen, message));
        plan.RequeueNoLaterThan(spec.Cooldown);
        return false;
    }

    private static void SetCircuitCondition(ResiliencePolicyStatus status, long? gen, DateTime now, EffectiveSpec spec)
    {
        var fo = status.Failover!;
        var (s, r, m) = fo.Circuit switch
        {
            "Open" => ("True", Reasons.CircuitOpen, $"automatic failover stopped until {(fo.CircuitOpenedAt ?? now) + spec.Cooldown:O}"),
            "HalfOpen" => ("False", Reasons.CircuitHalfOpen, "one failover allowed after the cooldown"),
            _ => ("False", Reasons.CircuitClosed, $"{fo.RecentFailovers?.Count ?? 0} of {spec.MaxFailovers} failovers used in the last {GoDuration.Format(spec.Window)}"),
        };
        ConditionSet.Set(status.Conditions!, ConditionSet.CircuitOpen, s, r, m, gen, now);
    }

    private static void PlanActiveActive(Observation o, EffectiveSpec spec, Plan plan, List<string> unchecked_)
    {
        var status = plan.Status;
        var gen = o.Policy.Metadata.Generation;
        var common = CommonLabels(o, spec);
        if (!SelectorEquals(o.Service!.Spec.Selector, common))
        {
            plan.Selector = common;
            plan.SelectorReason = $"{Reasons.TrafficSteered}: ActiveActive, the Service spans every target";
            plan.Events.Add(new PlannedEvent("Normal", Reasons.TrafficSteered, $"Service {spec.ServiceName} spans every target ({string.Join(",", common.Select(kv => kv.Key + "=" + kv.Value))})"));
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
        ConditionSet.Set(status.Conditions!, ConditionSet.CircuitOpen, "False", Reasons.CircuitClosed, "no automatic failover in ActiveActive mode", gen, o.Now);
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
                plan.Events.Add(new PlannedEvent("Normal", Reasons.HpaMinRaised, $"HorizontalPodAutoscaler {hpa.Metadata.Name} minReplicas raised to {min} for {target}"));
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
        Pending = f.Pending, Last = f.Last,
    };
}
