using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// Decides which webhook notifications a change of a cached object stands for, from the status
/// records the operator wrote — never from the wording of an event. Pure: the old and the new
/// version in, notifications out.
/// <list type="bullet">
/// <item>policy: <c>status.failover.last</c> changed → Failover, Failback or ManualFailback (its reason);
/// <c>status.failover.circuit</c> turned Open → CircuitOpen; <c>status.failover.pending.failedStep</c> set → FenceFailed,
/// PromoteFailed; condition ObjectivesMet turned False → ObjectivesBreached;</item>
/// <item>restore: <c>status.startTime</c> set → RestoreStarted; phase turned Completed or Failed → RestoreCompleted, RestoreFailed;</item>
/// <item>drill: phase turned Passed, Failed or Aborted → DrillPassed, DrillFailed, DrillAborted.</item>
/// </list>
/// Each notification's time is the one in the status record (the switch, the opening of the
/// circuit, the condition's transition, the restore's start or completion, the drill's verdict), so
/// its Idempotency-Key is the same whoever computes it and whenever. An object seen for the first
/// time (<c>old</c> null: the first list after a start) yields nothing: what the cache shows then
/// was reported, or not, by the process that did it.
/// </summary>
internal static class NotificationPlanner
{
    /// <summary>The webhooks of a policy, empty when it has none.</summary>
    public static IReadOnlyList<WebhookSpec> Webhooks(ResiliencePolicy? policy) =>
        policy?.Spec?.Notifications?.Webhooks is { Count: > 0 } hooks ? [.. hooks.Where(h => h is not null && !string.IsNullOrEmpty(h.Url))] : [];

    public static IReadOnlyList<Notification> ForPolicy(ResiliencePolicy? old, ResiliencePolicy policy, DateTime now)
    {
        var hooks = Webhooks(policy);
        if (old is null || hooks.Count == 0) return [];
        var result = new List<Notification>();
        var ns = policy.Metadata.NamespaceProperty ?? "";
        var name = policy.Metadata.Name ?? "";
        var status = policy.Status;
        var before = old.Status;

        if (status?.Failover?.Last is { } last && Enum.TryParse<NotificationType>(last.Reason, out var switchType)
            && switchType is NotificationType.Failover or NotificationType.Failback or NotificationType.ManualFailback
            && !SameSwitch(before?.Failover?.Last, last))
        {
            var message = switchType switch
            {
                NotificationType.Failover =>
                    $"traffic moved from unhealthy {last.From} to {last.To} " +
                    $"({Figures.FailoverTimes(last.DetectionSeconds, last.SwitchSeconds)})",
                NotificationType.ManualFailback => $"traffic moved back from {last.From} to {last.To} on request",
                _ => $"traffic moved back from {last.From} to {last.To} after {policy.Spec.Failover?.FailbackDelay ?? "the failback delay"} of health",
            };
            result.Add(new Notification(switchType, ns, name, Utc(last.Time), message, hooks)
            {
                PolicyUid = policy.Metadata.Uid,
                Subject = last.From + "->" + last.To,
                Details = new Dictionary<string, object?>
                {
                    ["from"] = last.From,
                    ["to"] = last.To,
                    ["detectionSeconds"] = last.DetectionSeconds,
                    ["switchSeconds"] = last.SwitchSeconds,
                    ["failoverCount"] = status.Failover.Count,
                },
            });
        }

        if (status?.Failover is { Circuit: "Open" } fo && before?.Failover?.Circuit != "Open")
        {
            var condition = Find(status.Conditions, ConditionSet.CircuitOpen);
            var opened = fo.CircuitOpenedAt ?? condition?.LastTransitionTime ?? now;
            result.Add(new Notification(NotificationType.CircuitOpen, ns, name, Utc(opened),
                condition?.Message is { Length: > 0 } m ? m : "circuit open: automatic failover stopped after too many failovers", hooks)
            {
                PolicyUid = policy.Metadata.Uid,
                Details = new Dictionary<string, object?>
                {
                    ["recentFailovers"] = fo.RecentFailovers?.Count ?? 0,
                    ["maxFailovers"] = policy.Spec.Failover?.CircuitBreaker?.MaxFailovers,
                    ["window"] = policy.Spec.Failover?.CircuitBreaker?.Window,
                    ["cooldown"] = policy.Spec.Failover?.CircuitBreaker?.Cooldown,
                },
            });
        }

        // A fence or promote hook that failed or timed out: the failover stopped (status.failover.pending.failedStep).
        if (status?.Failover?.Pending is { FailedStep: { } step, FailedAt: { } failedAt } stopped
            && (before?.Failover?.Pending?.FailedStep != step || before.Failover.Pending.FailedAt != failedAt))
        {
            result.Add(new Notification(step == "Fence" ? NotificationType.FenceFailed : NotificationType.PromoteFailed, ns, name, Utc(failedAt),
                stopped.Message ?? $"{step} failed", hooks)
            {
                PolicyUid = policy.Metadata.Uid,
                Subject = stopped.From + "->" + stopped.To,
                Details = new Dictionary<string, object?>
                {
                    ["from"] = stopped.From,
                    ["to"] = stopped.To,
                    ["step"] = step,
                    ["job"] = step == "Fence" ? stopped.FenceJob : stopped.PromoteJob,
                },
            });
        }

        var objectives = Find(status?.Conditions, ConditionSet.ObjectivesMet);
        if (objectives?.Status == "False" && Find(before?.Conditions, ConditionSet.ObjectivesMet)?.Status != "False")
        {
            var measured = status!.Objectives;
            result.Add(new Notification(NotificationType.ObjectivesBreached, ns, name, Utc(objectives.LastTransitionTime),
                objectives.Message ?? "", hooks)
            {
                PolicyUid = policy.Metadata.Uid,
                Details = new Dictionary<string, object?>
                {
                    ["rpoSeconds"] = measured?.RpoSeconds,
                    ["rpoObjective"] = policy.Spec.Objectives?.Rpo,
                    ["rpoMet"] = measured?.RpoMet,
                    ["lastRtoSeconds"] = measured?.LastRtoSeconds,
                    ["rtoObjective"] = policy.Spec.Objectives?.Rto,
                    ["rtoMet"] = measured?.RtoMet,
                },
            });
        }
        return result;
    }

    public static IReadOnlyList<Notification> ForRestore(ResilienceRestore? old, ResilienceRestore restore, ResiliencePolicy? policy, DateTime now)
    {
        var hooks = Webhooks(policy);
        if (old is null || hooks.Count == 0 || restore.Status is not { } status) return [];
        var result = new List<Notification>();
        var involved = new InvolvedObject(ResilienceRestore.KubeKind, restore.Metadata.Name, restore.Metadata.Uid);
        Dictionary<string, object?> Details() => new()
        {
            ["restore"] = restore.Metadata.Name,
            ["target"] = restore.Spec.Target,
            ["backup"] = status.Backup ?? restore.Spec.Backup,
            ["phase"] = status.Phase?.ToString(),
            ["attempts"] = status.Attempts,
        };
        if (status.StartTime is { } started && old.Status?.StartTime is null)
        {
            result.Add(new Notification(NotificationType.RestoreStarted, policy!.Metadata.NamespaceProperty ?? "", policy.Metadata.Name, Utc(started),
                $"restore {restore.Metadata.Name} of {restore.Spec.Target} from {BackupText(status.Backup ?? restore.Spec.Backup)} started", hooks)
            {
                PolicyUid = policy.Metadata.Uid, Involved = involved, Subject = restore.Metadata.Name, Details = Details(),
            });
        }
        if (status.Phase is RunPhase.Completed or RunPhase.Failed && old.Status?.Phase != status.Phase)
        {
            var type = status.Phase == RunPhase.Completed ? NotificationType.RestoreCompleted : NotificationType.RestoreFailed;
            result.Add(new Notification(type, policy!.Metadata.NamespaceProperty ?? "", policy.Metadata.Name, Utc(status.CompletionTime ?? now),
                $"restore {restore.Metadata.Name} of {restore.Spec.Target}: {MessageOr(status.Message, status.Phase.ToString()!)}", hooks)
            {
                PolicyUid = policy.Metadata.Uid, Involved = involved, Subject = restore.Metadata.Name, Details = Details(),
            });
        }
        return result;
    }

    /// <summary>A backup's restore test turned Passed or Failed → BackupVerified, BackupVerificationFailed.</summary>
    public static IReadOnlyList<Notification> ForBackup(ResilienceBackup? old, ResilienceBackup backup, ResiliencePolicy? policy, DateTime now)
    {
        var hooks = Webhooks(policy);
        if (old is null || hooks.Count == 0 || backup.Status?.Verification is not { } v) return [];
        if (v.Phase is not (VerificationPhase.Passed or VerificationPhase.Failed) || old.Status?.Verification?.Phase == v.Phase) return [];
        var passed = v.Phase == VerificationPhase.Passed;
        return
        [
            new Notification(passed ? NotificationType.BackupVerified : NotificationType.BackupVerificationFailed, policy!.Metadata.NamespaceProperty ?? "",
                policy.Metadata.Name, Utc(v.Time ?? now),
                $"backup {backup.Metadata.Name} {(passed ? "passed" : "failed")} its restore test: {MessageOr(v.Message, v.Phase.ToString()!)}", hooks)
            {
                PolicyUid = policy.Metadata.Uid,
                Involved = new InvolvedObject(ResilienceBackup.KubeKind, backup.Metadata.Name, backup.Metadata.Uid),
                Subject = backup.Metadata.Name,
                Details = new Dictionary<string, object?>
                {
                    ["backup"] = backup.Metadata.Name, ["location"] = backup.Spec.Location, ["scratch"] = v.Scratch,
                    ["requestedBy"] = v.RequestedBy, ["phase"] = v.Phase.ToString(),
                },
            },
        ];
    }

    public static IReadOnlyList<Notification> ForDrill(ResilienceDrill? old, ResilienceDrill drill, ResiliencePolicy? policy, DateTime now)
    {
        var hooks = Webhooks(policy);
        if (old is null || hooks.Count == 0 || drill.Status is not { } status) return [];
        if (status.Phase is not (DrillPhase.Passed or DrillPhase.Failed or DrillPhase.Aborted) || old.Status?.Phase == status.Phase) return [];
        var type = status.Phase switch
        {
            DrillPhase.Passed => NotificationType.DrillPassed,
            DrillPhase.Failed => NotificationType.DrillFailed,
            _ => NotificationType.DrillAborted,
        };
        var verdict = Find(status.Conditions, ConditionSet.Succeeded);
        return
        [
            new Notification(type, policy!.Metadata.NamespaceProperty ?? "", policy.Metadata.Name,
                Utc(verdict?.LastTransitionTime ?? status.RecoveredAt ?? now),
                $"{drill.Metadata.Name}: {MessageOr(status.Message, $"{status.Phase}, RTO {Figures.Seconds(status.RtoSeconds, "not measured")}")}", hooks)
            {
                PolicyUid = policy.Metadata.Uid,
                Involved = new InvolvedObject(ResilienceDrill.KubeKind, drill.Metadata.Name, drill.Metadata.Uid),
                Subject = drill.Metadata.Name,
                Details = new Dictionary<string, object?>
                {
                    ["drill"] = drill.Metadata.Name,
                    ["action"] = drill.Spec.Action.ToString(),
                    ["result"] = status.Phase.ToString(),
                    ["reason"] = verdict?.Reason,
                    ["target"] = status.Target,
                    ["rtoSeconds"] = status.RtoSeconds,
                    ["rtoObjectiveSeconds"] = status.RtoObjectiveSeconds,
                },
            },
        ];
    }

    private static bool SameSwitch(FailoverRecord? a, FailoverRecord b) =>
        a is not null && a.Time == b.Time && a.Reason == b.Reason && a.From == b.From && a.To == b.To;

    private static V1Condition? Find(IList<V1Condition>? conditions, string type) => conditions?.FirstOrDefault(c => c.Type == type);

    private static DateTimeOffset Utc(DateTime t) =>
        new(DateTime.SpecifyKind(t, t.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : t.Kind).ToUniversalTime(), TimeSpan.Zero);

    private static string BackupText(string? backup) => string.IsNullOrEmpty(backup) ? "the newest completed backup" : $"backup {backup}";

    private static string MessageOr(string? message, string fallback) => string.IsNullOrEmpty(message) ? fallback : message;
}
