using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>The policy's spec with defaults applied and durations parsed, or the first field that is wrong.</summary>
internal sealed record EffectiveSpec(
    ResilienceMode Mode,
    IReadOnlyList<TargetSpec> Targets,
    string ServiceName,
    int MinReplicas,
    int? StandbyReplicas,
    int? PdbMaxUnavailable,
    SpreadSpec? Spread,
    TimeSpan Interval,
    TimeSpan Timeout,
    int Retries,
    int SuccessThreshold,
    int MinReadyPercent,
    HttpProbeSpec? Http,
    TcpProbeSpec? Tcp,
    FailAction OnFail,
    FailbackMode Failback,
    TimeSpan FailbackDelay,
    int MaxFailovers,
    TimeSpan Window,
    TimeSpan Cooldown)
{
    /// <summary>Targets by priority, ties kept in spec order.</summary>
    public IReadOnlyList<TargetSpec> ByPriority { get; } = [.. Targets.Select((t, i) => (t, i)).OrderBy(x => x.t.Priority).ThenBy(x => x.i).Select(x => x.t)];

    public static (EffectiveSpec? Spec, string? Error) From(ResiliencePolicySpec spec)
    {
        var hc = spec.HealthCheck ?? new HealthCheckSpec();
        var fo = spec.Failover ?? new FailoverSpec();
        var cb = fo.CircuitBreaker ?? new CircuitBreakerSpec();
        if (spec.Targets is null || spec.Targets.Count == 0) return (null, "spec.targets: at least one target is required");
        for (var i = 0; i < spec.Targets.Count; i++)
        {
            if (string.IsNullOrEmpty(spec.Targets[i].Name)) return (null, $"spec.targets[{i}].name: required");
            for (var j = 0; j < i; j++)
                if (spec.Targets[j].Name == spec.Targets[i].Name)
                    return (null, $"spec.targets[{i}].name: duplicate target \"{spec.Targets[i].Name}\" (also spec.targets[{j}])");
        }
        if (string.IsNullOrEmpty(spec.Service?.Name)) return (null, "spec.service.name: required");
        if (!GoDuration.TryParse(hc.Interval, out var interval) || interval < TimeSpan.FromMilliseconds(100))
            return (null, $"spec.healthCheck.interval: \"{hc.Interval}\" is not a duration of at least 100ms");
        if (!GoDuration.TryParse(hc.Timeout, out var timeout) || timeout <= TimeSpan.Zero)
            return (null, $"spec.healthCheck.timeout: \"{hc.Timeout}\" is not a positive duration");
        if (timeout > interval)
            return (null, $"spec.healthCheck.timeout: {hc.Timeout} is longer than spec.healthCheck.interval {hc.Interval}");
        if (hc.Http is not null && hc.Tcp is not null)
            return (null, "spec.healthCheck: set http or tcp, not both");
        if (!GoDuration.TryParse(fo.FailbackDelay, out var failbackDelay))
            return (null, $"spec.failover.failbackDelay: \"{fo.FailbackDelay}\" is not a duration");
        if (!GoDuration.TryParse(cb.Window, out var window))
            return (null, $"spec.failover.circuitBreaker.window: \"{cb.Window}\" is not a duration");
        if (!GoDuration.TryParse(cb.Cooldown, out var cooldown))
            return (null, $"spec.failover.circuitBreaker.cooldown: \"{cb.Cooldown}\" is not a duration");
        if (hc.Retries < 1) return (null, "spec.healthCheck.retries: must be at least 1");
        if (hc.MinReadyPercent is < 1 or > 100) return (null, "spec.healthCheck.minReadyPercent: must be 1..100");
        if (hc.SuccessThreshold < 1) return (null, "spec.healthCheck.successThreshold: must be at least 1");
        TimeSpan? rto = null;
        if (spec.Objectives?.Rto is { } rtoText)
        {
            if (!GoDuration.TryParse(rtoText, out var r) || r <= TimeSpan.Zero)
                return (null, $"spec.objectives.rto: \"{rtoText}\" is not a positive duration");
            if (interval * hc.Retries > r)
                return (null, $"spec.healthCheck: interval {hc.Interval} × retries {hc.Retries} = " +
                    $"{GoDuration.Format(interval * hc.Retries)} " +
                    $"is longer than spec.objectives.rto {rtoText}: a failure could not even be detected in time");
            rto = r;
        }
        if (spec.Objectives?.Rpo is { } rpoText && (!GoDuration.TryParse(rpoText, out var rpo) || rpo <= TimeSpan.Zero))
            return (null, $"spec.objectives.rpo: \"{rpoText}\" is not a positive duration");
        if (spec.Mode == ResilienceMode.ActiveActive && spec.MultiWriter != true
            && spec.Targets.Select((t, i) => (t, i)).FirstOrDefault(x => x.t.Kind == WorkloadKind.StatefulSet) is { t: not null } stateful)
            return (null, $"spec.targets[{stateful.i}].kind: StatefulSet targets cannot run ActiveActive unless spec.multiWriter is true " +
                "(a single-writer store served from two targets at once is split brain)");
        if (FailoverHooks.ModeError(spec.Mode, fo.Hooks) is { } modeError) return (null, modeError);
        var (hooks, hookError) = FailoverHooks.From(fo);
        if (hookError is not null) return (null, hookError);
        var red = spec.Redundancy;
        if (red?.MinReplicas is < 0) return (null, "spec.redundancy.minReplicas: must not be negative");
        if (red?.StandbyReplicas is < 0) return (null, "spec.redundancy.standbyReplicas: must not be negative");
        return (new EffectiveSpec(
            spec.Mode, [.. spec.Targets], spec.Service!.Name,
            red?.MinReplicas ?? 0, red?.StandbyReplicas, red?.PodDisruptionBudget?.MaxUnavailable, red?.Spread,
            interval, timeout, hc.Retries, Math.Max(1, hc.SuccessThreshold), hc.MinReadyPercent, hc.Http, hc.Tcp, hc.OnFail,
            fo.Failback, failbackDelay, Math.Max(1, cb.MaxFailovers), window, cooldown)
        { Rto = rto, Hooks = hooks! }, null);
    }

    /// <summary>Fencing, and the fence and promote hooks with their timeouts.</summary>
    public FailoverHooks Hooks { get; init; } = FailoverHooks.None;

    /// <summary>The declared recovery time objective, if any.</summary>
    public TimeSpan? Rto { get; init; }

    /// <summary>Longest time from a failure to its verdict.</summary>
    public TimeSpan DetectionBound => Interval * Retries;
}
