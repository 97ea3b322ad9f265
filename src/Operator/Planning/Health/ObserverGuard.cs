using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// Observer-failure guard. When most of the targets the operator checks, across all policies,
/// start failing at the same moment, the likelier cause is the observer: the operator starved of
/// CPU, cut off by a partition or a NetworkPolicy. Failing over then would move traffic away from
/// targets that serve well. Like kube-controller-manager's --unhealthy-zone-threshold (0.55) and
/// Envoy's max_ejection_percent, a share above the threshold stops the automatic reaction.
/// <para>
/// A target counts when its latest check failed and its checks turned from passing to failing
/// within the window. The window is per policy <c>interval × (retries + 1)</c>, at least 10 s,
/// and the guard uses the largest: a target whose checks start failing at T gets its failing
/// verdict (the moment a failover would happen) by T + interval × retries, plus up to one interval
/// of phase between policies, so a common cause is still counted when any verdict flips.
/// </para>
/// <para>
/// Once suspect, the guard holds while more than the threshold of the checked targets are still
/// failing, however long ago they began, and clears when the share falls below it, as
/// kube-controller-manager stops evicting for as long as a zone stays unhealthy. The price: a real
/// outage of most targets at once is not failed over until most of them are back or a person acts.
/// </para>
/// <para>
/// At least <c>minTargets</c> targets must have turned failing: a share over a few targets says
/// nothing, and fewer simultaneous failures than that are never held. A threshold of 1 disables
/// the guard (a share cannot exceed 1).
/// </para>
/// </summary>
/// <typeparam name="TPolicy">What identifies a policy (the runtime's key); the guard only compares it.</typeparam>
internal sealed class ObserverGuard<TPolicy>(double threshold = ObserverGuard.DefaultThreshold, int minTargets = ObserverGuard.DefaultMinTargets)
    where TPolicy : notnull
{

    private readonly Lock _lock = new();
    private readonly Dictionary<(TPolicy Policy, string Target), Entry> _targets = [];
    private bool _suspect;

    private sealed record Entry(bool Passing, DateTimeOffset? TurnedFailing, TimeSpan Window);

    public double Threshold => threshold;

    public int MinTargets => minTargets;

    /// <summary>The last evaluation.</summary>
    public ObserverState State { get; private set; } = ObserverState.Clear;

    /// <summary>Records one check of a target. <paramref name="wasPassing"/> is the verdict before it, for a target not seen yet (after a restart).</summary>
    public void Record(TPolicy policy, string target, bool passing, bool wasPassing, DateTimeOffset now, TimeSpan window)
    {
        lock (_lock)
        {
            var before = _targets.TryGetValue((policy, target), out var e) ? e.Passing : wasPassing;
            DateTimeOffset? turned = passing ? null : before ? now : e?.TurnedFailing;
            _targets[(policy, target)] = new Entry(passing, turned, window < ObserverGuard.MinWindow ? ObserverGuard.MinWindow : window);
        }
    }

    /// <summary>A target no longer judged (cold standby, removed from its policy).</summary>
    public void Remove(TPolicy policy, string target)
    {
        lock (_lock) _targets.Remove((policy, target));
    }

    /// <summary>A policy no longer checked (invalid, deleted).</summary>
    public void Forget(TPolicy policy)
    {
        lock (_lock)
        {
            foreach (var k in _targets.Keys.Where(k => EqualityComparer<TPolicy>.Default.Equals(k.Policy, policy)).ToList()) _targets.Remove(k);
        }
    }

    /// <summary>The policies with a checked target.</summary>
    public IReadOnlyList<TPolicy> Policies()
    {
        lock (_lock) return [.. _targets.Keys.Select(k => k.Policy).Distinct()];
    }

    /// <summary>Computes the share now; <c>Changed</c> is true for exactly one caller when the suspicion turns on or off.</summary>
    public (ObserverState State, bool Changed) Evaluate(DateTimeOffset now)
    {
        lock (_lock)
        {
            var window = _targets.Count == 0 ? ObserverGuard.MinWindow : _targets.Values.Max(e => e.Window);
            // Entering takes failures that began together; holding takes every target still failing.
            var failing = _suspect
                ? _targets.Values.Count(e => !e.Passing)
                : _targets.Values.Count(e => !e.Passing && e.TurnedFailing is { } t && now - t <= window);
            var total = _targets.Count;
            var share = total == 0 ? 0 : (double)failing / total;
            var suspect = failing >= minTargets && share > threshold;
            var changed = suspect != _suspect;
            _suspect = suspect;
            State = new ObserverState(suspect, share, failing, total, window, threshold);
            return (State, changed);
        }
    }
}

/// <summary>One evaluation of the <see cref="ObserverGuard"/>.</summary>
internal sealed record ObserverState(bool Suspect, double Share, int TurnedFailing, int Checked, TimeSpan Window, double Threshold)
{
    public static readonly ObserverState Clear = new(false, 0, 0, 0, ObserverGuard.MinWindow, ObserverGuard.DefaultThreshold);

    /// <summary>Why the operator doubts its own view, or null.</summary>
    public string? Message => Suspect
        ? $"{TurnedFailing} of {Checked} checked targets ({Percent(Share)}) failing, " +
            $"having turned failing together within {GoDuration.Format(Window)}, " +
            $"above the observer-suspect threshold of {Percent(Threshold)}: " +
            "more likely the operator's own view (CPU starvation, network partition, NetworkPolicy) " +
            "than the targets; " +
            "failovers wait until the share falls below it"
        : null;

    /// <summary>Whole percent, the same in every culture.</summary>
    public static string Percent(double share) => (share * 100).ToString("0", System.Globalization.CultureInfo.InvariantCulture) + "%";
}

/// <summary>The guard's defaults, shared by every key type.</summary>
internal static class ObserverGuard
{
    public const double DefaultThreshold = 0.55;
    public const int DefaultMinTargets = 3;
    /// <summary>The shortest window: leaves room for checks delayed by the very starvation the guard looks for.</summary>
    public static readonly TimeSpan MinWindow = TimeSpan.FromSeconds(10);
}
