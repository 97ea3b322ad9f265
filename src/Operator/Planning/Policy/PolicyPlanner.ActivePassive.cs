using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

// ActivePassive: one target receives traffic. Fails over from an unhealthy active target to the
// highest-priority healthy one (scaling a cold standby up first), fails back after the delay or
// on request, and keeps the replica floors of the active and passive targets.
internal static partial class PolicyPlanner
{
    private static void PlanActivePassive(Observation o, EffectiveSpec spec, Plan plan, List<string> unchecked_)
    {
        var status = plan.Status;
        var gen = o.Policy.Metadata.Generation;
        var fo = status.Failover!;
        var byName = spec.Targets.ToDictionary(t => t.Name);
        // A target being restored is not a place for traffic, whatever its checks say.
        bool Healthy(string n) => o.Health.TryGetValue(n, out var h) && h.Healthy && !plan.Gates.ContainsKey(n);
        // A target fenced by ScaleToZero is not a failover candidate: it may hold stale data.
        bool Cold(string n) => o.Health.TryGetValue(n, out var h) && h.Cold && !plan.Gates.ContainsKey(n) && fo.Fenced?.Contains(n) != true;
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

        // The Service already selects where a pending failover was going: the switch was made and
        // its status write was not (the process stopped in between, or the write failed). Record
        // that failover now, once: the count, the circuit's window and the last failover come with it.
        if (!plan.DryRun && fo.Pending is { } done && actual is not null && actual == done.To && done.From != done.To
            && byName.ContainsKey(done.From) && o.Health.ContainsKey(done.From))
            Switch(o, spec, plan, done.From, done.To, done.Reason ?? Reasons.Failover);
        if (fo.Pending is { } pending && (!byName.ContainsKey(pending.To) || pending.From != current))
            fo.Pending = null;
        // A move stopped by a failed hook starts over (with new Jobs) once the spec changes.
        if (fo.Pending is { FailedStep: not null } stopped && stopped.Generation != gen)
            fo.Pending = null;
        // A move at its fence, promote or switch step carries on whatever the checks say now: the
        // old target may already be fenced, and it is not given traffic back.
        var stepping = plan.DryRun ? null : fo.Pending is { Step: not null, FailedStep: null } sp ? sp : null;

        if (stepping is not null)
        {
            next = stepping.To; reason = stepping.Reason ?? Reasons.Failover;
            plan.ClearFailbackAnnotation = reason == Reasons.ManualFailback;
        }
        else if (unconfirmed)
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
            // A failback stopped by a failed hook stays stopped (it is not begun again at every reconcile).
            if (fo.Pending is not { FailedStep: not null, Reason: Reasons.Failback or Reasons.ManualFailback }) fo.Pending = null;
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

        // Fence and promote (spec.failover.hooks, fencing Required) come before the switch.
        if (next is not null && current is not null && next != current && spec.Hooks.Stepped
            && reason is Reasons.Failover or Reasons.Failback or Reasons.ManualFailback)
        {
            if (plan.DryRun) PlanHooksDryRun(o, spec, plan, current, next);
            else if (!AdvanceSteps(o, spec, plan, current, next, reason, Receivable, out var stepBlocked))
            {
                next = current;
                reason = null;
                blocked = stepBlocked;
                plan.ClearFailbackAnnotation = false; // a manual failback is asked for until it happens
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
        // A target fenced by ScaleToZero stays at zero until someone brings it back and it is healthy again.
        if (!plan.DryRun && fo.Fenced is { Count: > 0 } fenced)
        {
            var still = fenced.Where(n => byName.ContainsKey(n) && (!Healthy(n) || n == fo.Pending?.From)).ToList();
            fo.Fenced = still.Count > 0 ? still : null;
        }
        foreach (var ts in status.Targets ?? [])
            if (fo.Fenced?.Contains(ts.Name) == true && ts.Cold == true) ts.Message = FencedMessage;
        foreach (var t in spec.Targets)
        {
            if (fo.Fenced?.Contains(t.Name) == true) continue;
            var floor = t.Name == floorTarget ? spec.MinReplicas : spec.StandbyReplicas ?? 0;
            if (fo.Pending?.To == t.Name) floor = Math.Max(floor, Math.Max(1, spec.MinReplicas));
            RaiseFloor(o, plan, t.Name, floor);
        }

        // Conditions.
        var onBest = serving is not null && serving == spec.ByPriority[0].Name;
        ConditionSet.Set(status.Conditions!, ConditionSet.FailedOver, onBest || serving is null ? "False" : "True",
            onBest || serving is null ? Reasons.OnPreferredTarget : Reasons.FailedOver,
            serving is null ? "no target receives traffic"
                : onBest ? $"traffic goes to the preferred target {serving}"
                : $"traffic goes to {serving}, not the preferred {spec.ByPriority[0].Name}",
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
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "False", Reasons.TargetUnhealthy,
                $"{next} receives traffic and is unhealthy: {o.Health[next].Message}", gen, o.Now);
        else
            ConditionSet.Set(status.Conditions!, ConditionSet.Ready, "True", Reasons.Serving,
                blocked.Message.Length > 0 ? $"traffic goes to healthy {next}; {blocked.Message}" : $"traffic goes to healthy {next}", gen, o.Now);
    }

    /// <summary>status.targets[].message of a target fenced by ScaleToZero.</summary>
    public const string FencedMessage = "fenced (0 replicas): not a failover candidate; kept at zero until brought back and healthy";

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
            CountInCircuit(spec, fo, o.Now);
        }
        var steps = fo.Pending is { Step: not null } p && p.From == from && p.To == to ? p : null;
        fo.Pending = null;
        fo.Last = new FailoverRecord
        {
            From = from ?? "", To = to, Time = o.Now, Reason = reason, DetectionSeconds = detection, SwitchSeconds = switchSeconds,
            FencedAt = steps?.FencedAt, PromotedAt = steps?.PromotedAt, FenceJob = steps?.FenceJob, PromoteJob = steps?.PromoteJob,
        };
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
}
