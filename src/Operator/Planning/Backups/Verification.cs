using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>The next step of a restore test and the backup's new verification status.</summary>
internal sealed record VerifyStep(
    BackupVerificationStatus Status,
    bool CreateScratch,
    bool CreateRestoreJob,
    bool CreateVerifyJob,
    bool DeleteScratch,
    IReadOnlyList<PlannedEvent> Events)
{
    /// <summary>The test ended in this step (Passed or Failed).</summary>
    public bool Finished => Status.Phase is VerificationPhase.Passed or VerificationPhase.Failed && Events.Count > 0;
}

/// <summary>
/// A restore test of one backup, step by step: Pending → Restoring (a scratch copy of the target and
/// the restore Job into it) → Verifying (the verify Job) → Passed or Failed, then the scratch copy goes.
/// Every name is derived from the backup and every step is recorded in its status, so a restart
/// resumes the same test at the same step and never makes a second scratch copy or a second restore.
/// </summary>
internal static class Verification
{
    /// <summary>Who asked for a scheduled test.</summary>
    public const string BySchedule = "schedule";

    /// <summary>The scratch copy of a backup's target.</summary>
    public static string ScratchName(string backup) => BackupNames.Fit(backup + "-scratch");

    /// <summary>The Job restoring the backup into the scratch copy.</summary>
    public static string RestoreJobName(string backup) => BackupNames.Fit(backup + "-restore-test");

    /// <summary>The Job running the verify template.</summary>
    public static string VerifyJobName(string backup) => BackupNames.Fit(backup + "-verify");

    /// <summary>Whether a test of this backup is asked for or under way.</summary>
    public static bool InProgress(ResilienceBackup b) => b.Status?.Verification?.Phase is VerificationPhase.Pending or VerificationPhase.Restoring
        or VerificationPhase.Verifying;

    /// <summary>Whether the backup passed its restore test.</summary>
    public static bool Passed(ResilienceBackup b) => b.Status?.Verification?.Phase == VerificationPhase.Passed;

    /// <summary>A test to ask for: Pending, by whom.</summary>
    public static BackupVerificationStatus Request(string requestedBy, DateTime now) => new()
    {
        Phase = VerificationPhase.Pending, RequestedBy = requestedBy, Message = $"restore test asked for by {requestedBy}", StartTime = now,
    };

    /// <summary>
    /// The backup a scheduled test takes: the newest completed one that is neither suspect nor tested yet;
    /// null when one is under way already (one test at a time per policy) or there is none.
    /// </summary>
    public static ResilienceBackup? Candidate(IEnumerable<ResilienceBackup> backups)
    {
        var list = backups.Where(b => b.Metadata.DeletionTimestamp is null).ToList();
        if (list.Any(InProgress)) return null;
        return RecoveryPlanner.NewestCompleted(list.Where(b => b.Status?.Verification is null && !LastKnownGood.IsSuspect(b)));
    }

    /// <summary>One step, from what the caches show: whether the scratch copy exists and the two Jobs.</summary>
    public static VerifyStep Next(ResilienceBackup backup, bool scratchExists, V1Job? restoreJob, V1Job? verifyJob, DateTime now)
    {
        var name = backup.Metadata.Name;
        var s = Copy(backup.Status?.Verification) ?? Request(BySchedule, now);
        var events = new List<PlannedEvent>();
        s.Scratch ??= ScratchName(name);
        s.StartTime ??= now;
        switch (s.Phase)
        {
            case VerificationPhase.Passed or VerificationPhase.Failed:
                // Ended: only the scratch copy may still have to go.
                var delete = s.ScratchRemoved != true;
                if (delete) s.ScratchRemoved = true;
                return new VerifyStep(s, false, false, false, delete, events);
            case null or VerificationPhase.Pending:
                s.Phase = VerificationPhase.Restoring;
                s.RestoreJob = RestoreJobName(name);
                s.Message = $"restoring {name} into the scratch copy {s.Scratch} (Job {s.RestoreJob})";
                return new VerifyStep(s, !scratchExists, restoreJob is null, false, false, events);
            case VerificationPhase.Restoring:
                s.RestoreJob ??= RestoreJobName(name);
                if (restoreJob is null) return new VerifyStep(s, !scratchExists, true, false, false, events);
                if (JobRun.Failed(restoreJob))
                    return End(s, false, $"the restore of {name} into the scratch copy {s.Scratch} failed (Job {restoreJob.Metadata.Name})", events, now);
                if (!JobRun.Succeeded(restoreJob)) return new VerifyStep(s, !scratchExists, false, false, false, events);
                s.Phase = VerificationPhase.Verifying;
                s.VerifyJob = VerifyJobName(name);
                s.Message = $"restored into {s.Scratch}; verifying (Job {s.VerifyJob})";
                return new VerifyStep(s, false, false, verifyJob is null, false, events);
            default: // Verifying
                s.VerifyJob ??= VerifyJobName(name);
                if (verifyJob is null) return new VerifyStep(s, false, false, true, false, events);
                if (JobRun.Succeeded(verifyJob))
                    return End(s, true, $"restored into the scratch copy {s.Scratch} and the verify Job {verifyJob.Metadata.Name} exited 0", events, now);
                if (JobRun.Failed(verifyJob))
                    return End(s, false, $"restored into the scratch copy {s.Scratch}, but the verify Job {verifyJob.Metadata.Name} failed", events, now);
                return new VerifyStep(s, false, false, false, false, events);
        }
    }

    /// <summary>
    /// A test that cannot go on (its policy or templates gone, or its target gone before the scratch copy was made):
    /// Failed with why; the scratch copy, if any, goes.
    /// </summary>
    public static VerifyStep Cannot(BackupVerificationStatus v, string scratch, string why, DateTime now)
    {
        var failed = Copy(v)!;
        failed.Phase = VerificationPhase.Failed;
        failed.Scratch ??= scratch;
        failed.ScratchRemoved = true;
        failed.Time = now;
        failed.Message = "cannot verify: " + why;
        return new VerifyStep(failed, false, false, false, true, [new PlannedEvent("Warning", Reasons.BackupVerificationFailed, failed.Message)]);
    }

    private static VerifyStep End(BackupVerificationStatus s, bool passed, string message, List<PlannedEvent> events, DateTime now)
    {
        s.Phase = passed ? VerificationPhase.Passed : VerificationPhase.Failed;
        s.Time = now;
        s.Message = message;
        s.ScratchRemoved = true;
        events.Add(passed ? new PlannedEvent("Normal", Reasons.BackupVerified, message)
            : new PlannedEvent("Warning", Reasons.BackupVerificationFailed, message));
        return new VerifyStep(s, false, false, false, true, events);
    }

    /// <summary>The Verified condition of a backup with this verification.</summary>
    public static (string Status, string Reason, string Message) Condition(BackupVerificationStatus v) => v.Phase switch
    {
        VerificationPhase.Passed => ("True", Reasons.BackupVerified, v.Message ?? ""),
        VerificationPhase.Failed => ("False", Reasons.BackupVerificationFailed, v.Message ?? ""),
        _ => ("Unknown", Reasons.Verifying, v.Message ?? ""),
    };

    public static BackupVerificationStatus? Copy(BackupVerificationStatus? v) => v is null ? null : new BackupVerificationStatus
    {
        Phase = v.Phase, RequestedBy = v.RequestedBy, Scratch = v.Scratch, ScratchRemoved = v.ScratchRemoved, RestoreJob = v.RestoreJob,
        VerifyJob = v.VerifyJob, StartTime = v.StartTime, Time = v.Time, Message = v.Message,
    };

    /// <summary>
    /// A copy of a target Deployment to restore into: one replica, owned by the backup, its pods labelled
    /// only with <see cref="Labels.Scratch"/> (never the target's labels, so no Service, PodDisruptionBudget
    /// or health check of a policy selects them), the operator's readiness gate removed.
    /// </summary>
    public static V1Deployment ScratchCopy(V1Deployment target, ResilienceBackup owner, string name) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "Deployment",
        Metadata = ScratchMetadata(target.Metadata, owner, name),
        Spec = new V1DeploymentSpec
        {
            Replicas = 1,
            Selector = new V1LabelSelector { MatchLabels = ScratchLabels(owner) },
            Template = ScratchTemplate(target.Spec.Template, owner),
        },
    };

    /// <summary>
    /// A copy of a target StatefulSet to restore into, in the shape of the Deployment copy (one replica,
    /// owned by the backup, selector and pods labelled only with <see cref="Labels.Scratch"/>, no readiness
    /// gate), with the target's volumeClaimTemplates: the StatefulSet controller makes a claim per template,
    /// <c>&lt;template&gt;-&lt;scratch&gt;-0</c>, labelled with the selector's labels, so
    /// <see cref="IsScratchClaim"/> and <see cref="ScratchSelector"/> find them to delete after the test
    /// (deleting a StatefulSet leaves its claims). serviceName stays: the Service does not select the pods.
    /// </summary>
    public static V1StatefulSet ScratchCopy(V1StatefulSet target, ResilienceBackup owner, string name) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "StatefulSet",
        Metadata = ScratchMetadata(target.Metadata, owner, name),
        Spec = new V1StatefulSetSpec
        {
            Replicas = 1,
            Selector = new V1LabelSelector { MatchLabels = ScratchLabels(owner) },
            Template = ScratchTemplate(target.Spec.Template, owner),
            ServiceName = target.Spec.ServiceName,
            PodManagementPolicy = target.Spec.PodManagementPolicy,
            VolumeClaimTemplates = target.Spec.VolumeClaimTemplates?.Select(c => new V1PersistentVolumeClaim
            {
                Metadata = new V1ObjectMeta { Name = c.Metadata?.Name, Labels = Clone(c.Metadata?.Labels), Annotations = Clone(c.Metadata?.Annotations) },
                Spec = k8s.KubernetesJson.Deserialize<V1PersistentVolumeClaimSpec>(k8s.KubernetesJson.Serialize(c.Spec)),
            }).ToList(),
        },
    };

    /// <summary>The label selector of everything a restore test of <paramref name="backup"/> labels as scratch.</summary>
    public static string ScratchSelector(string backup) => $"{Labels.Scratch}={backup}";

    /// <summary>
    /// Whether a claim is one the StatefulSet controller made for the scratch copy <paramref name="scratch"/>:
    /// named <c>&lt;template&gt;-&lt;scratch&gt;-&lt;ordinal&gt;</c>.
    /// </summary>
    public static bool IsScratchClaim(string claim, string scratch)
    {
        var infix = "-" + scratch + "-";
        var at = claim.LastIndexOf(infix, StringComparison.Ordinal);
        return at > 0 && at + infix.Length < claim.Length && claim[(at + infix.Length)..].All(char.IsAsciiDigit);
    }

    private static Dictionary<string, string> ScratchLabels(ResilienceBackup owner) => new() { [Labels.Scratch] = owner.Metadata.Name };

    private static V1ObjectMeta ScratchMetadata(V1ObjectMeta target, ResilienceBackup owner, string name) => new()
    {
        Name = name,
        NamespaceProperty = owner.Metadata.NamespaceProperty,
        Labels = ScratchLabels(owner),
        Annotations = new Dictionary<string, string> { [Annotations.ScratchOf] = target.Name },
        OwnerReferences = [OwnerReferences.ControlledBy(owner)],
    };

    /// <summary>The target's pod template, labelled only as scratch, without the operator's readiness gate.</summary>
    private static V1PodTemplateSpec ScratchTemplate(V1PodTemplateSpec source, ResilienceBackup owner)
    {
        var template = k8s.KubernetesJson.Deserialize<V1PodTemplateSpec>(k8s.KubernetesJson.Serialize(source));
        template.Metadata ??= new V1ObjectMeta();
        template.Metadata.Labels = ScratchLabels(owner);
        if (template.Spec.ReadinessGates is { } gates)
        {
            var kept = gates.Where(g => g.ConditionType != PodConditions.Healthy).ToList();
            template.Spec.ReadinessGates = kept.Count == 0 ? null : kept;
        }
        return template;
    }

    private static Dictionary<string, string>? Clone(IDictionary<string, string>? d) => d is null ? null : new Dictionary<string, string>(d);
}
