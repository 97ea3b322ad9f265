using System.Globalization;
using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>What to do next for a backup or restore, and its new status.</summary>
internal sealed record RunDecision(ResilienceRunStatus Status, int? CreateAttempt, TimeSpan? RequeueAfter, IReadOnlyList<PlannedEvent> Events);

/// <summary>
/// Pure attempt logic shared by backups and restores: one Job per attempt (backoffLimit 0, named
/// owner-attempt), a failed attempt retried after an exponential backoff up to a maximum, phases
/// Pending → Running → Completed/Failed. The attempt count is also read from the Jobs' labels, so
/// a restart between creating a Job and recording it neither loses nor repeats an attempt.
/// </summary>
internal static class JobRun
{
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    public static TimeSpan Backoff(int failedAttempts, TimeSpan first)
    {
        var d = first * Math.Pow(2, Math.Max(0, failedAttempts - 1));
        return d > MaxBackoff ? MaxBackoff : d;
    }

    public static int AttemptOf(V1Job job) =>
        job.Metadata.Labels?.TryGetValue(Labels.Attempt, out var a) == true
        && int.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    public static bool Succeeded(V1Job job) =>
        job.Status?.Succeeded > 0 || job.Status?.Conditions?.Any(c => c.Type == "Complete" && c.Status == "True") == true;

    public static bool Failed(V1Job job) =>
        job.Status?.Conditions?.Any(c => c.Type == "Failed" && c.Status == "True") == true || (job.Status?.Failed > 0 && (job.Status.Active ?? 0) == 0);

    public static RunDecision Next(ResilienceRunStatus? current, string owner, string what, IEnumerable<V1Job> jobs, int maxAttempts,
        TimeSpan firstBackoff, DateTime now)
    {
        var s = Copy(current);
        var events = new List<PlannedEvent>();
        if (s.Phase is RunPhase.Completed or RunPhase.Failed) return new(s, null, null, events);
        var jobList = jobs.ToList();
        var attempts = Math.Max(s.Attempts ?? 0, jobList.Count == 0 ? 0 : jobList.Max(AttemptOf));
        if (attempts == 0)
        {
            s.Phase = RunPhase.Pending;
            s.Attempts = 1;
            s.JobName = BackupNames.Job(owner, 1);
            s.Message = $"attempt 1 of {maxAttempts}: Job {s.JobName} created";
            return Finish(s, 1, null, events, now);
        }
        s.Attempts = attempts;
        s.JobName = BackupNames.Job(owner, attempts);
        var job = jobList.FirstOrDefault(j => AttemptOf(j) == attempts);
        if (job is null)
        {
            // Recorded but not seen (deleted by someone, or the cache is behind our create): create it again; a 409 is fine.
            s.Phase ??= RunPhase.Pending;
            return Finish(s, attempts, null, events, now);
        }
        if (Succeeded(job))
        {
            s.Phase = RunPhase.Completed;
            s.StartTime ??= job.Status?.StartTime ?? now;
            s.CompletionTime = job.Status?.CompletionTime ?? now;
            s.Message = $"{what} completed (attempt {attempts}, Job {job.Metadata.Name})";
            return Finish(s, null, null, events, now);
        }
        if (Failed(job))
        {
            var failedAt = job.Status?.Conditions?.FirstOrDefault(c => c.Type == "Failed" && c.Status == "True")?.LastTransitionTime
                ?? s.LastFailureTime ?? now;
            var reason = job.Status?.Conditions?.FirstOrDefault(c => c.Type == "Failed")?.Reason ?? Reasons.JobFailed;
            s.StartTime ??= job.Status?.StartTime ?? now;
            var newFailure = s.LastFailureTime != failedAt;
            s.LastFailureTime = failedAt;
            if (attempts >= maxAttempts)
            {
                s.Phase = RunPhase.Failed;
                s.CompletionTime = failedAt;
                s.Message = $"{what} failed: attempt {attempts} of {maxAttempts} failed ({reason}, Job {job.Metadata.Name}); no more attempts";
                return Finish(s, null, null, events, now);
            }
            var due = failedAt + Backoff(attempts, firstBackoff);
            if (newFailure)
                events.Add(new PlannedEvent("Warning", Reasons.AttemptFailed,
                    $"{what} attempt {attempts} of {maxAttempts} failed ({reason}, Job {job.Metadata.Name}); retrying at {due:O}"));
            s.Phase = RunPhase.Running;
            if (now >= due)
            {
                s.Attempts = attempts + 1;
                s.JobName = BackupNames.Job(owner, attempts + 1);
                s.Message = $"attempt {attempts} failed ({reason}); attempt {attempts + 1} of {maxAttempts}: Job {s.JobName} created";
                return Finish(s, attempts + 1, null, events, now);
            }
            s.Message = $"attempt {attempts} failed ({reason}); attempt {attempts + 1} of {maxAttempts} at {due:O}";
            return Finish(s, null, due - now, events, now);
        }
        if ((job.Status?.Active ?? 0) > 0 || job.Status?.StartTime is not null)
        {
            s.Phase = RunPhase.Running;
            s.StartTime ??= job.Status?.StartTime ?? now;
            if (s.LastFailureTime is null) s.Message = $"attempt {attempts} of {maxAttempts} running (Job {job.Metadata.Name})";
        }
        else s.Phase ??= RunPhase.Pending;
        return Finish(s, null, null, events, now);
    }

    /// <summary>A run that cannot start: Failed at once, the message naming the field.</summary>
    public static ResilienceRunStatus Invalid(ResilienceRunStatus? current, string message, DateTime now, string reason = Reasons.InvalidSpec)
    {
        var s = Copy(current);
        s.Phase = RunPhase.Failed;
        s.CompletionTime ??= now;
        s.Message = message;
        s.Conditions ??= [];
        ConditionSet.Set(s.Conditions, ConditionSet.Succeeded, "False", reason, message, null, now);
        return s;
    }

    /// <summary>A run waiting for something outside it (a backup still running).</summary>
    public static ResilienceRunStatus Waiting(ResilienceRunStatus? current, string message, DateTime now)
    {
        var s = Copy(current);
        s.Phase = RunPhase.Pending;
        s.Message = message;
        s.Conditions ??= [];
        ConditionSet.Set(s.Conditions, ConditionSet.Succeeded, "Unknown", Reasons.Running, message, null, now);
        return s;
    }

    private static RunDecision Finish(ResilienceRunStatus s, int? create, TimeSpan? requeue, List<PlannedEvent> events, DateTime now)
    {
        s.Conditions ??= [];
        var (status, reason) = s.Phase switch
        {
            RunPhase.Completed => ("True", "Completed"),
            RunPhase.Failed => ("False", Reasons.AttemptsExhausted),
            RunPhase.Running when s.LastFailureTime is not null => ("Unknown", "Retrying"),
            _ => ("Unknown", s.Phase?.ToString() ?? "Pending"),
        };
        ConditionSet.Set(s.Conditions, ConditionSet.Succeeded, status, reason, s.Message ?? "", null, now);
        return new RunDecision(s, create, requeue, events);
    }

    public static ResilienceRunStatus Copy(ResilienceRunStatus? s) => s is null ? new ResilienceRunStatus() : new ResilienceRunStatus
    {
        Phase = s.Phase, Backup = s.Backup, JobName = s.JobName, Attempts = s.Attempts, StartTime = s.StartTime, CompletionTime = s.CompletionTime,
        LastFailureTime = s.LastFailureTime, Message = s.Message, Conditions = s.Conditions is null ? null : [.. s.Conditions],
        Source = s.Source is null ? null
            : new BackupSourceStatus
            {
                Target = s.Source.Target, HealthyAtStart = s.Source.HealthyAtStart, HealthyAtEnd = s.Source.HealthyAtEnd,
                CompletedBy = s.Source.CompletedBy
            },
        BackupReason = s.BackupReason, Verification = Verification.Copy(s.Verification),
    };
}
