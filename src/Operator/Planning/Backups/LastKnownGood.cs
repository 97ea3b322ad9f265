using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// Which backups a restore may trust. A backup is suspect when the target it copied was failing as it
/// started or ended (a failed check counts at once, before healthCheck.retries declare a failure), or
/// when it completed after the last passing check of an incident of that target: it may hold the
/// failure's damage. A suspect backup is never chosen automatically; an incident restores the newest
/// backup that completed before its last passing check, a verified one preferred.
/// </summary>
internal static class LastKnownGood
{
    /// <summary>
    /// Whether <paramref name="target"/> passed its latest check at <paramref name="at"/>, as the
    /// policy's status.targets[] records it: null when unknown (not checked yet, or a cold standby).
    /// </summary>
    public static bool? SourceHealthy(ResiliencePolicy? policy, string? target, DateTime at)
    {
        var t = policy?.Status?.Targets?.FirstOrDefault(x => x.Name == target);
        if (t is null || t.LastTransitionTime is null || t.Cold == true) return null;
        if (t.ConsecutiveFailures == 0 && t.Healthy) return true;
        // Failing now, but only since after `at`: it still passed then.
        if (t.FirstFailureTime is { } first && first > at) return t.Healthy ? true : null;
        return false;
    }

    /// <summary>
    /// The latest moment a backup can have completed: a Job's completionTime has whole seconds, so a
    /// backup recorded at 12:00:03 may have completed up to a second later, but no later than the
    /// operator saw it complete (status.source.completedBy).
    /// </summary>
    public static DateTime? CompletedBy(ResilienceBackup b)
    {
        if (b.Status?.CompletionTime is not { } t) return null;
        var latest = t.Ticks % TimeSpan.TicksPerSecond == 0 ? t.AddSeconds(1) : t;
        return b.Status.Source?.CompletedBy is { } seen && seen >= t && seen < latest ? seen : latest;
    }

    /// <summary>Why a completed backup is suspect, from its source and the policy's open incidents; null when it is not.</summary>
    public static string? SuspectReason(ResilienceBackup b, ResiliencePolicy? policy)
    {
        var source = b.Status?.Source;
        var target = source?.Target ?? b.Spec.Target;
        if (source?.HealthyAtStart == false) return $"target {target} was failing its health checks when the backup started";
        if (source?.HealthyAtEnd == false) return $"target {target} was failing its health checks when the backup completed";
        if (b.Status?.Phase != RunPhase.Completed || CompletedBy(b) is not { } done) return null;
        foreach (var i in policy?.Status?.Incidents ?? [])
        {
            if (i.Target != target || i.LastPassingCheck is not { } lastPass) continue;
            if (done > lastPass)
                return $"completed after the last passing check of {target} at {lastPass:O}, before it was declared failed at {i.DetectedAt:O}";
        }
        return null;
    }

    /// <summary>Whether the backup carries condition Suspect=True.</summary>
    public static bool IsSuspect(ResilienceBackup b) => ConditionSet.Find(b.Status?.Conditions, Suspect) is { Status: "True" };

    /// <summary>Whether the backup passed its restore test.</summary>
    public static bool IsVerified(ResilienceBackup b) => ConditionSet.Find(b.Status?.Conditions, Verified) is { Status: "True" };

    /// <summary>How the reason of a choice that found nothing trustworthy begins.</summary>
    public const string NoGood = "no good backup";

    /// <summary>The condition type marking a backup that is never chosen automatically.</summary>
    public const string Suspect = "Suspect";

    /// <summary>The condition type with the result of a backup's restore test.</summary>
    public const string Verified = "Verified";

    /// <summary>
    /// The backup to restore: completed, not suspect, completed before <paramref name="before"/> (when
    /// given), the newest verified one, else the newest; with the reason, or null and why there is none.
    /// </summary>
    public static (ResilienceBackup? Backup, string Reason) Choose(IEnumerable<ResilienceBackup> backups, DateTime? before)
    {
        var completed = backups.Where(b => b.Status?.Phase == RunPhase.Completed && b.Metadata.DeletionTimestamp is null).ToList();
        var good = completed.Where(b => !IsSuspect(b) && (before is not { } cut || CompletedBy(b) <= cut))
            .OrderByDescending(b => b.Status!.CompletionTime ?? DateTime.MinValue).ThenByDescending(b => b.Metadata.Name, StringComparer.Ordinal)
            .ToList();
        var when = before is { } c ? $" before the last passing check at {c:O}" : "";
        if (good.Count == 0)
        {
            var suspect = completed.Count(IsSuspect);
            var late = completed.Count - suspect;
            return (null, completed.Count == 0 ? "no completed backup"
                : $"{NoGood}: of {completed.Count} completed, {suspect} suspect and {late} completed too late; none completed{when} and not suspect");
        }
        if (good.FirstOrDefault(IsVerified) is { } verified)
        {
            var newer = good.IndexOf(verified);
            return (verified, $"newest verified backup completed{when}" +
                (newer > 0 ? $" ({newer} newer unverified backup(s) passed over)" : "") + SkippedSuffix(completed, good, verified));
        }
        return (good[0], $"newest completed backup{when} (none of them verified)" + SkippedSuffix(completed, good, good[0]));
    }

    /// <summary>
    /// The latest moment the target is known to have passed a check: the prober's own record, or, in a verdict taken
    /// over from status after a restart (status.targets[] records no time of each check), the start of its healthy
    /// run; null when none is known.
    /// </summary>
    public static DateTime? LastPassed(TargetHealth? h) => h?.LastPassedAt ?? (h is { Healthy: true, Cold: false } ? h.LastTransitionTime : null);

    /// <summary>The target a backup copied: as its status records it, else spec.target, else the active target.</summary>
    public static string TargetOf(ResilienceBackup b, string active) =>
        b.Status?.Source?.Target is { Length: > 0 } s ? s : b.Spec.Target is { Length: > 0 } t ? t : active;

    /// <summary>
    /// The newest completed backup that is not suspect and that its target passed a health check after
    /// (<paramref name="lastPassed"/> of the target, at or after <see cref="CompletedBy"/>): one an incident of that
    /// target beginning now may restore. A newer one may still be refused, having completed after the fault began.
    /// Null when none is known.
    /// </summary>
    public static ResilienceBackup? CheckedAfter(IEnumerable<ResilienceBackup> backups, Func<string, DateTime?> lastPassed, string active) =>
        backups.Where(b => b.Status?.Phase == RunPhase.Completed && b.Metadata.DeletionTimestamp is null && !IsSuspect(b)
                && lastPassed(TargetOf(b, active)) is { } pass && CompletedBy(b) <= pass)
            .OrderByDescending(b => b.Status!.CompletionTime ?? DateTime.MinValue).ThenByDescending(b => b.Metadata.Name, StringComparer.Ordinal)
            .FirstOrDefault();

    private static string SkippedSuffix(List<ResilienceBackup> completed, List<ResilienceBackup> good, ResilienceBackup chosen)
    {
        var skipped = completed.Count(b => (b.Status!.CompletionTime ?? DateTime.MinValue) >= (chosen.Status!.CompletionTime ?? DateTime.MinValue)
            && b.Metadata.Name != chosen.Metadata.Name && !good.Contains(b));
        return skipped > 0 ? $"; {skipped} newer backup(s) skipped as suspect or completed after the failure began" : "";
    }
}
