using System.Globalization;
using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>Why a drill does not start, or stops: a CamelCase reason (the guard rail) and words.</summary>
internal sealed record DrillRefusal(string Reason, string Message);

/// <summary>The pods of one target as the caches show them.</summary>
internal sealed record TargetPods(int Desired, IReadOnlyList<V1Pod> Pods)
{
    /// <summary>Pods not being deleted and not deleted by the drill.</summary>
    public IEnumerable<V1Pod> Live(IEnumerable<string>? killed) =>
        Pods.Where(p => p.Metadata.DeletionTimestamp is null && killed?.Contains(p.Metadata.Name) != true);

    public int Ready(IEnumerable<string>? killed) => Live(killed).Count(DrillPlanner.IsReady);

    /// <summary>Desired replicas that are not Ready right now.</summary>
    public int Unavailable(IEnumerable<string>? killed) => Math.Max(0, Desired - Ready(killed));
}

/// <summary>
/// Pure decisions of a drill: the guard rails before anything is injected, which pods to kill,
/// whether the policy serves again, and when the drill fails or must stop. No I/O; the time and
/// everything observed come in as arguments.
/// </summary>
internal static class DrillPlanner
{
    /// <summary>The RTO a drill is judged against when the policy declares none.</summary>
    public static readonly TimeSpan DefaultRto = TimeSpan.FromMinutes(5);

    /// <summary>spec.objectives.rto of the policy, or <see cref="DefaultRto"/> (Defaulted true) when it declares none or an unreadable one.</summary>
    public static (TimeSpan Rto, bool Defaulted) RtoOf(ResiliencePolicy policy) =>
        GoDuration.TryParse(policy.Spec.Objectives?.Rto, out var rto) && rto > TimeSpan.Zero ? (rto, false) : (DefaultRto, true);

    /// <summary>
    /// The guard rails, in order: the policy exists and enforces (not DryRun), no other drill of it runs, no restore of it is
    /// pending or running, no failover is pending, it is not failed over, it is Ready, and (with
    /// spec.backup and an RPO) its newest completed backup is within the RPO. Null: the drill may start.
    /// </summary>
    public static DrillRefusal? Guard(ResilienceDrill drill, ResiliencePolicy? policy, IEnumerable<ResilienceRestore> restores,
        IEnumerable<ResilienceDrill> drills, DateTime now)
    {
        if (SpecValidation.Drill(drill.Spec) is { } invalid) return new(Reasons.InvalidSpec, invalid);
        var name = drill.Spec.Policy;
        if (policy is null || policy.Metadata.DeletionTimestamp is not null)
            return new(Reasons.PolicyNotFound, $"spec.policy: ResiliencePolicy \"{name}\" not found in namespace {drill.Metadata.NamespaceProperty}");
        if (policy.Spec.Enforcement == EnforcementMode.DryRun)
            return new(Reasons.PolicyInDryRun, $"guard rail: policy {name} has spec.enforcement DryRun; " +
                "a drill changes the cluster and the policy would not repair it, so drills need Enforce");
        var other = drills.Where(d => d.Metadata.Name != drill.Metadata.Name && d.Spec.Policy == name && d.Status?.Phase == DrillPhase.Running)
            .Select(d => d.Metadata.Name).OrderBy(n => n, StringComparer.Ordinal).FirstOrDefault();
        if (other is not null)
            return new(Reasons.AnotherDrillRunning, $"guard rail: ResilienceDrill \"{other}\" of policy {name} is running; one drill at a time");
        var restore = restores.Where(r => r.Metadata.DeletionTimestamp is null && r.Status?.Phase is null or RunPhase.Pending or RunPhase.Running)
            .Select(r => r.Metadata.Name).OrderBy(n => n, StringComparer.Ordinal).FirstOrDefault();
        if (restore is not null)
            return new(Reasons.RestoreInProgress,
                $"guard rail: ResilienceRestore \"{restore}\" of policy {name} is pending or running; no drill during a restore");
        var status = policy.Status;
        if (status?.Failover?.Pending is { } pending)
            return new(Reasons.FailoverInProgress, $"guard rail: a failover from {pending.From} to {pending.To} is in progress; no drill during a failover");
        if (ConditionSet.IsTrue(status?.Conditions, ConditionSet.FailedOver))
            return new(Reasons.FailedOver, $"guard rail: policy {name} is failed over" +
                $"{(ConditionSet.Find(status?.Conditions, ConditionSet.FailedOver)?.Message is { Length: > 0 } fm
                    ? $" ({fm})" : "")}" +
                "; a drill starts only on the preferred target");
        // Degraded can be True while Ready is: the policy serves, with too little capacity to lose any.
        if (ConditionSet.Find(status?.Conditions, ConditionSet.Degraded) is { Status: "True" } degraded)
            return new(Reasons.PolicyDegraded,
                $"guard rail: policy {name} is degraded ({degraded.Reason}: {degraded.Message}); " +
                "a drill never starts on a degraded policy");
        var ready = ConditionSet.Find(status?.Conditions, ConditionSet.Ready);
        if (ready?.Status != "True")
            return new(Reasons.PolicyNotReady, $"guard rail: policy {name} is not Ready ({ready?.Reason ?? "no status yet"}" +
                $"{(string.IsNullOrEmpty(ready?.Message) ? "" : ": " + ready.Message)}); a drill never starts on a degraded policy");
        if (policy.Spec.Backup is not null && GoDuration.TryParse(policy.Spec.Objectives?.Rpo, out var rpo))
        {
            var completed = status?.Backup?.LastCompletedTime;
            if (completed is null)
                return new(Reasons.BackupOlderThanRpo, $"guard rail: policy {name} has no completed backup yet and its RPO is {policy.Spec.Objectives!.Rpo}");
            var age = now - BackupSchedule.Utc(completed.Value);
            if (age > rpo)
                return new(Reasons.BackupOlderThanRpo, $"guard rail: the newest completed backup {status!.Backup!.LastCompleted} " +
                    $"is {GoDuration.Format(age)} old, older than the RPO {policy.Spec.Objectives!.Rpo}");
        }
        if (status?.ActiveTargets is not [var active, ..] || string.IsNullOrEmpty(active))
            return new(Reasons.NoActiveTarget, $"guard rail: policy {name} has no active target to drill");
        return null;
    }

    /// <summary>
    /// maxUnavailable before injection. KillPods: the pods to delete — maxUnavailable minus the
    /// target's pods already unavailable, Ready ones first by name — or a refusal when none may go.
    /// FailTarget: refused when the targets already unhealthy plus the failed one exceed maxUnavailable.
    /// </summary>
    public static (IReadOnlyList<string> Kill, DrillRefusal? Refusal) Capacity(ResilienceDrill drill, ResiliencePolicy policy, string target, TargetPods pods)
    {
        var max = Math.Max(1, drill.Spec.MaxUnavailable);
        if (drill.Spec.Action == DrillAction.FailTarget)
        {
            var unhealthy = UnhealthyOthers(policy, target);
            if (unhealthy.Count + 1 > max)
                return ([], new(Reasons.MaxUnavailableExceeded,
                    $"failing {target} would make {unhealthy.Count + 1} targets unavailable " +
                    $"({string.Join(", ", unhealthy.Append(target))}), " +
                    $"more than maxUnavailable {max}"));
            return ([], null);
        }
        var unavailable = pods.Unavailable(null);
        var allowed = max - unavailable;
        var ready = pods.Live(null).Where(IsReady).Select(p => p.Metadata.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
        if (allowed <= 0 || ready.Count == 0)
            return ([], new(Reasons.MaxUnavailableExceeded,
                $"{unavailable} of {target}'s {pods.Desired} pods are unavailable already; " +
                $"deleting more would exceed maxUnavailable {max}"));
        return ([.. ready.Take(allowed)], null);
    }

    /// <summary>
    /// VerifyBackup: the backup to test — the newest completed one that is neither suspect nor tested yet — or a
    /// refusal when the policy has no spec.backup.verify (or cannot verify) or there is no such backup, or a test runs.
    /// </summary>
    public static (string? Backup, DrillRefusal? Refusal) BackupToVerify(ResiliencePolicy policy, IEnumerable<ResilienceBackup> backups)
    {
        if (policy.Spec.Backup?.Verify is null)
            return (null, new(Reasons.InvalidSpec, $"spec.action: VerifyBackup needs spec.backup.verify on ResiliencePolicy \"{policy.Metadata.Name}\""));
        if (RecoveryPlanner.VerifyError(policy.Spec) is { } error) return (null, new(Reasons.InvalidSpec, $"policy {policy.Metadata.Name}: {error}"));
        var list = backups.ToList();
        if (list.FirstOrDefault(Verification.InProgress) is { } running)
            return (null, new(Reasons.AnotherDrillRunning, $"guard rail: backup {running.Metadata.Name} is under a restore test; one at a time"));
        return Verification.Candidate(list) is { } b
            ? (b.Metadata.Name, null)
            : (null, new(Reasons.NoBackupToVerify, $"policy {policy.Metadata.Name} has no completed backup that is neither suspect nor tested yet"));
    }

    /// <summary>While running: a refusal when the drill now exceeds maxUnavailable (something else failed too), else null.</summary>
    public static DrillRefusal? Exceeds(ResilienceDrill drill, ResiliencePolicy policy, TargetPods pods)
    {
        var max = Math.Max(1, drill.Spec.MaxUnavailable);
        var target = drill.Status?.Target ?? "";
        if (drill.Spec.Action == DrillAction.FailTarget)
        {
            var unhealthy = UnhealthyOthers(policy, target);
            return unhealthy.Count + 1 > max
                ? new(Reasons.MaxUnavailableExceeded, $"{string.Join(", ", unhealthy)} failed during the drill: " +
                    $"{unhealthy.Count + 1} targets unavailable, more than maxUnavailable {max}; fault removed")
                : null;
        }
        var unavailable = pods.Unavailable(drill.Status?.Pods);
        return unavailable > max
            ? new(Reasons.MaxUnavailableExceeded, $"{unavailable} of {target}'s {pods.Desired} pods are unavailable, more than maxUnavailable {max}")
            : null;
    }

    /// <summary>
    /// Whether the policy serves again: Ready, traffic on a target its checks call healthy, and that
    /// target is not the one failed on purpose — or, for KillPods, the target again has every desired
    /// pod Ready without the ones the drill deleted.
    /// </summary>
    public static bool Serving(ResilienceDrill drill, ResiliencePolicy policy, TargetPods pods)
    {
        var status = policy.Status;
        if (!ConditionSet.IsTrue(status?.Conditions, ConditionSet.Ready)) return false;
        if (status?.ActiveTargets is not [var active, ..]) return false;
        if (status.Targets?.FirstOrDefault(t => t.Name == active) is not { Healthy: true }) return false;
        var target = drill.Status?.Target;
        if (active != target) return true;
        return drill.Spec.Action == DrillAction.KillPods && pods.Desired > 0 && pods.Ready(drill.Status?.Pods) >= pods.Desired;
    }

    /// <summary>Seconds from the injection to serving again, to the millisecond.</summary>
    public static double RtoSeconds(DateTime injectedAt, DateTime recoveredAt) =>
        Math.Round(Math.Max(0, (BackupSchedule.Utc(recoveredAt) - BackupSchedule.Utc(injectedAt)).TotalSeconds), 3);

    /// <summary>The verdict once injected: Passed when serving again in time, Failed when the RTO ran out, null while it runs.</summary>
    public static (DrillPhase Phase, string Reason, string Message, double? RtoSeconds)? Verdict(
        ResilienceDrill drill, ResiliencePolicy policy, TargetPods pods, TimeSpan rto, bool defaulted, DateTime now)
    {
        var injectedAt = drill.Status?.InjectedAt ?? now;
        var objective = GoDuration.Format(rto) + (defaulted ? $" (the policy declares no spec.objectives.rto; default {GoDuration.Format(DefaultRto)})" : "");
        if (Serving(drill, policy, pods))
        {
            var seconds = RtoSeconds(injectedAt, now);
            if (seconds <= rto.TotalSeconds)
                return (DrillPhase.Passed, Reasons.Recovered,
                    $"policy {policy.Metadata.Name} served again from {policy.Status!.ActiveTargets![0]} " +
                    $"{seconds.ToString("0.###", CultureInfo.InvariantCulture)}s after the fault; RTO {objective}", seconds);
        }
        if (now - BackupSchedule.Utc(injectedAt) >= rto)
            return (DrillPhase.Failed, Reasons.RtoExceeded,
                $"policy {policy.Metadata.Name} did not serve again within the RTO {objective}; fault removed", null);
        return null;
    }

    /// <summary>When the drill runs out of time.</summary>
    public static DateTime Deadline(DateTime injectedAt, TimeSpan rto) => BackupSchedule.Utc(injectedAt) + rto;

    /// <summary>Targets other than <paramref name="target"/> that fail their checks (cold standbys do not count).</summary>
    private static List<string> UnhealthyOthers(ResiliencePolicy policy, string target) =>
        [.. (policy.Status?.Targets ?? []).Where(t => t.Name != target && !t.Healthy && !ColdStandby.Of(t))
            .Select(t => t.Name)];

    internal static bool IsReady(V1Pod p) => p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    internal static bool Matches(IDictionary<string, string> selector, IDictionary<string, string>? labels) =>
        labels is not null && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
