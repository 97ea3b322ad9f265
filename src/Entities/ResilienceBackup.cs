using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace ResilienceOperator.Entities;

/// <summary>
/// One backup run to one location: the policy's backup template as a Job. The schedule creates
/// them with deterministic names; a person may create one by hand.
/// </summary>
[KubernetesEntity(Group = GroupVersion.Group, ApiVersion = GroupVersion.Version, Kind = KubeKind, PluralName = KubePluralName)]
[ShortNames("rbk")]
[Categories("resilience")]
[PrinterColumn("Policy", "string", ".spec.policy", Description = "The ResiliencePolicy whose backup template runs")]
[PrinterColumn("Location", "string", ".spec.location", Description = "Where the backup is written")]
[PrinterColumn("Phase", "string", ".status.phase", Description = "Pending, Running, Completed or Failed")]
[PrinterColumn("Completed", "date", ".status.completionTime", Description = "When the backup completed")]
[PrinterColumn("Verified", "string", ".status.verification.phase", Description = "Verification by a restore test: Passed, Failed or Running", Priority = 1)]
[PrinterColumn("Attempts", "integer", ".status.attempts", Description = "Job attempts so far", Priority = 1)]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class ResilienceBackup : CustomResource<ResilienceBackupSpec, ResilienceRunStatus>
{
    /// <summary>Kind.</summary>
    public const string KubeKind = "ResilienceBackup";
    /// <summary>Plural resource name.</summary>
    public const string KubePluralName = "resiliencebackups";

    /// <summary>Which policy and location.</summary>
    [JsonPropertyName("spec")]
    [SchemaRequired]
    public override ResilienceBackupSpec Spec { get; set; } = new();

    /// <summary>How the run went.</summary>
    [JsonPropertyName("status")]
    public override ResilienceRunStatus? Status { get; set; }
}

/// <summary>A backup run.</summary>
public sealed class ResilienceBackupSpec
{
    /// <summary>Name of the ResiliencePolicy in this namespace whose backup template runs.</summary>
    [SchemaRequired]
    [SchemaLength(1, 253)]
    public string Policy { get; set; } = "";

    /// <summary>The location written to (`LOCATION`); one of the policy's spec.backup.locations.</summary>
    [SchemaDefault("default")]
    [SchemaPattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    [SchemaLength(1, 63)]
    public string Location { get; set; } = "default";

    /// <summary>The target the backup reads from (`TARGET`); the active target when empty.</summary>
    public string? Target { get; set; }

    /// <summary>The schedule's due time this backup is for; absent for a backup made by hand.</summary>
    public DateTime? ScheduledTime { get; set; }
}

/// <summary>Progress of a backup or restore run (its Job attempts).</summary>
public sealed class ResilienceRunStatus
{
    /// <summary>Pending, Running, Completed or Failed.</summary>
    public RunPhase? Phase { get; set; }
    /// <summary>For a restore: the backup restored (spec.backup, or the newest completed one when that is empty).</summary>
    public string? Backup { get; set; }
    /// <summary>The Job of the current attempt.</summary>
    public string? JobName { get; set; }
    /// <summary>Job attempts started so far.</summary>
    public int? Attempts { get; set; }
    /// <summary>When the first attempt started.</summary>
    public DateTime? StartTime { get; set; }
    /// <summary>When the run completed or finally failed.</summary>
    public DateTime? CompletionTime { get; set; }
    /// <summary>When the last attempt failed (the next one waits for a backoff from here).</summary>
    public DateTime? LastFailureTime { get; set; }
    /// <summary>What happened last, in words.</summary>
    public string? Message { get; set; }
    /// <summary>
    /// Succeeded: True when Completed, False when Failed (the reason says why), Unknown before. A backup also
    /// has `Suspect` (True: never chosen automatically for a restore; the reason and message say why) and
    /// `Verified` (the result of its restore test).
    /// </summary>
    public IList<V1Condition>? Conditions { get; set; }
    /// <summary>For a backup: the target it copied and whether that target passed its health checks when the backup started and ended.</summary>
    public BackupSourceStatus? Source { get; set; }
    /// <summary>For a backup: its restore test, step by step (a restart resumes it at the recorded step).</summary>
    public BackupVerificationStatus? Verification { get; set; }
    /// <summary>For a restore: why its backup was chosen (named in spec.backup, or the last known good one and why).</summary>
    public string? BackupReason { get; set; }
}

/// <summary>A restore test of a backup: restored into a scratch copy of its target, then judged by the verify template.</summary>
public sealed class BackupVerificationStatus
{
    /// <summary>Pending (asked for), Restoring (the restore Job runs into the scratch copy), Verifying (the verify Job runs), Passed or Failed.</summary>
    public VerificationPhase? Phase { get; set; }
    /// <summary>Who asked: `schedule` or `drill/NAME`.</summary>
    public string? RequestedBy { get; set; }
    /// <summary>The scratch copy of the target (of the target's kind, owned by the backup, never selected by the policy's Service).</summary>
    public string? Scratch { get; set; }
    /// <summary>Whether the scratch copy was removed after the test.</summary>
    public bool? ScratchRemoved { get; set; }
    /// <summary>The Job restoring the backup into the scratch copy.</summary>
    public string? RestoreJob { get; set; }
    /// <summary>The Job running the verify template.</summary>
    public string? VerifyJob { get; set; }
    /// <summary>When the test started.</summary>
    public DateTime? StartTime { get; set; }
    /// <summary>When the test passed or failed.</summary>
    public DateTime? Time { get; set; }
    /// <summary>What happened last, in words.</summary>
    public string? Message { get; set; }
}

/// <summary>Steps of a restore test.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<VerificationPhase>))]
public enum VerificationPhase
{
    /// <summary>Asked for, not started.</summary>
    Pending,
    /// <summary>The backup is being restored into the scratch copy.</summary>
    Restoring,
    /// <summary>The verify template runs against the scratch copy.</summary>
    Verifying,
    /// <summary>The verify template exited 0.</summary>
    Passed,
    /// <summary>The restore or the verify template failed.</summary>
    Failed,
}

/// <summary>
/// The health of the target a backup copied, from the policy's health checks (status.targets[]): a check
/// that already failed counts as failing even before healthCheck.retries declare the target failed.
/// </summary>
public sealed class BackupSourceStatus
{
    /// <summary>The target copied (`TARGET`).</summary>
    public string? Target { get; set; }
    /// <summary>Whether the target's latest health check passed when the backup started; absent when not known (not checked yet).</summary>
    public bool? HealthyAtStart { get; set; }
    /// <summary>Whether the target's latest health check passed when the backup completed; absent when not known.</summary>
    public bool? HealthyAtEnd { get; set; }
    /// <summary>
    /// When the operator saw the backup complete: it completed no later than this (its completionTime, from the
    /// Job, has whole seconds).
    /// </summary>
    public DateTime? CompletedBy { get; set; }
}

/// <summary>A list of ResilienceBackup.</summary>
public sealed class ResilienceBackupList : IKubernetesObject<V1ListMeta>, IItems<ResilienceBackup>
{
    /// <summary>APIVersion.</summary>
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = GroupVersion.ApiVersion;
    /// <summary>Kind.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = ResilienceBackup.KubeKind + "List";
    /// <summary>List metadata.</summary>
    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();
    /// <summary>The backups.</summary>
    [JsonPropertyName("items")]
    public IList<ResilienceBackup> Items { get; set; } = [];
}
