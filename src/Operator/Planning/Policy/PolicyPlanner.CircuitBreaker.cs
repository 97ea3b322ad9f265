using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

// Circuit breaker on automatic failovers (spec.failover.circuitBreaker) and its CircuitOpen condition.
internal static partial class PolicyPlanner
{
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
                plan.Events.Add(new PlannedEvent("Normal", Reasons.CircuitHalfOpen,
                    $"cooldown of {GoDuration.Format(spec.Cooldown)} passed: one failover allowed"));
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
        message = $"circuit opened: {recent.Count} failovers within {GoDuration.Format(spec.Window)} " +
            $"(maxFailovers {spec.MaxFailovers}); " +
            $"automatic failover stopped for {GoDuration.Format(spec.Cooldown)}";
        plan.Events.Add(new PlannedEvent("Warning", Reasons.CircuitOpen, message));
        plan.RequeueNoLaterThan(spec.Cooldown);
        return false;
    }

    /// <summary>
    /// An automatic failover happened at <paramref name="now"/>: it counts in the window, and the
    /// one a half-open circuit allowed closes it again, the count starting from it.
    /// </summary>
    private static void CountInCircuit(EffectiveSpec spec, FailoverStatus fo, DateTime now)
    {
        fo.RecentFailovers = [.. (fo.RecentFailovers ?? []).Where(t => now - t < spec.Window), now];
        if (fo.Circuit == "HalfOpen") { fo.Circuit = "Closed"; fo.CircuitOpenedAt = null; fo.RecentFailovers = [now]; }
    }

    private static void SetCircuitCondition(ResiliencePolicyStatus status, long? gen, DateTime now, EffectiveSpec spec)
    {
        var fo = status.Failover!;
        var (s, r, m) = fo.Circuit switch
        {
            "Open" => ("True", Reasons.CircuitOpen, $"automatic failover stopped until {(fo.CircuitOpenedAt ?? now) + spec.Cooldown:O}"),
            "HalfOpen" => ("False", Reasons.CircuitHalfOpen, "one failover allowed after the cooldown"),
            _ => ("False", Reasons.CircuitClosed,
                $"{fo.RecentFailovers?.Count ?? 0} of {spec.MaxFailovers} failovers used " +
                $"in the last {GoDuration.Format(spec.Window)}"),
        };
        ConditionSet.Set(status.Conditions!, ConditionSet.CircuitOpen, s, r, m, gen, now);
    }
}
