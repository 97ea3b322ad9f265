using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace ResilienceOperator.Entities;

/// <summary>
/// One chaos drill: injects a fault into the active target of a policy, then passes when the
/// policy is serving again within its RTO (spec.objectives.rto, 5m when it declares none). It never
/// starts while the policy is not Ready, failed over, failing over, restoring or already drilled;
/// its fault is removed when it ends, when it is aborted and when it is deleted.
/// </summary>
[KubernetesEntity(Group = GroupVersion.Group, ApiVersion = GroupVersion.Version, Kind = KubeKind, PluralName = KubePluralName)]
[ShortNames("rdr")]
[Categories("resilience")]
[PrinterColumn("Policy", "string", ".spec.policy", Description = "The ResiliencePolicy the drill proves")]
[PrinterColumn("Action", "string", ".spec.action", Description = "KillPods, FailTarget or VerifyBackup")]
[PrinterColumn("Phase", "string", ".status.phase", Description = "Pending, Running, Passed, Failed or Aborted")]
[PrinterColumn("RTO", "number", ".status.rtoSeconds", Description = "Seconds from the injection to serving again")]
[PrinterColumn("Target", "string", ".status.target", Description = "The target the fault was injected into", Priority = 1)]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class ResilienceDrill : CustomResource<ResilienceDrillSpec, ResilienceDrillStatus>
{
    /// <summary>Kind.</summary>
    public const string KubeKind = "ResilienceDrill";
    /// <summary>Plural resource name.</summary>
    public const string KubePluralName = "resiliencedrills";

    /// <summary>Which policy, and what fault.</summary>
    [JsonPropertyName("spec")]
    [SchemaRequired]
    public override ResilienceDrillSpec Spec { get; set; } = new();

    /// <summary>How the drill went.</summary>
    [JsonPropertyName("status")]
    public override ResilienceDrillStatus? Status { get; set; }
}

/// <summary>The fault a drill injects into the policy's active target.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DrillAction>))]
public enum DrillAction
{
    /// <summary>Delete up to maxUnavailable pods of the active target.</summary>
    KillPods,
    /// <summary>
    /// Scale the active target to zero replicas (the previous count is kept in the annotation
    /// `resilience.dev/drill-replicas` and put back afterwards).
    /// </summary>
    FailTarget,
    /// <summary>
    /// Inject nothing: run one restore test (spec.backup.verify of the policy) of its newest completed backup that is
    /// neither suspect nor tested yet; Passed when the backup passes, Failed when it fails or the test outlasts the RTO.
    /// </summary>
    VerifyBackup,
}

/// <summary>Where a drill stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DrillPhase>))]
public enum DrillPhase
{
    /// <summary>Accepted; nothing injected yet.</summary>
    Pending,
    /// <summary>The fault is injected; waiting for the policy to serve again.</summary>
    Running,
    /// <summary>The policy served again within its RTO.</summary>
    Passed,
    /// <summary>The RTO ran out before the policy served again; the fault was removed.</summary>
    Failed,
    /// <summary>Refused by a guard rail, or stopped because it would exceed maxUnavailable; the message names why.</summary>
    Aborted,
}

/// <summary>A chaos drill.</summary>
public sealed class ResilienceDrillSpec
{
    /// <summary>Name of the ResiliencePolicy in this namespace whose active target the drill disrupts.</summary>
    [SchemaRequired]
    [SchemaLength(1, 253)]
    public string Policy { get; set; } = "";

    /// <summary>
    /// KillPods (delete pods of the active target), FailTarget (scale the active target to zero until the drill ends) or
    /// VerifyBackup (one restore test of the newest untested backup).
    /// </summary>
    [SchemaDefault("KillPods")]
    public DrillAction Action { get; set; } = DrillAction.KillPods;

    /// <summary>
    /// KillPods: pods of the active target that may be unavailable at once (the drill deletes at most this many, fewer
    /// when some are unavailable already). FailTarget: targets of the policy that may be unhealthy at once, the failed
    /// one included.
    /// </summary>
    [SchemaDefault(1)]
    [SchemaRange(1, 1000)]
    public int MaxUnavailable { get; set; } = 1;
}

/// <summary>Progress and verdict of a drill.</summary>
public sealed class ResilienceDrillStatus
{
    /// <summary>Pending, Running, Passed, Failed or Aborted.</summary>
    public DrillPhase? Phase { get; set; }
    /// <summary>The target the fault was injected into (the policy's active target at the start).</summary>
    public string? Target { get; set; }
    /// <summary>VerifyBackup: the backup tested.</summary>
    public string? Backup { get; set; }
    /// <summary>KillPods: the pods deleted.</summary>
    public IList<string>? Pods { get; set; }
    /// <summary>When the fault was injected.</summary>
    public DateTime? InjectedAt { get; set; }
    /// <summary>When the policy served again from a healthy target.</summary>
    public DateTime? RecoveredAt { get; set; }
    /// <summary>Seconds from the injection to serving again.</summary>
    public double? RtoSeconds { get; set; }
    /// <summary>The RTO the drill is judged against, in seconds (spec.objectives.rto of the policy, or the 5m default).</summary>
    public double? RtoObjectiveSeconds { get; set; }
    /// <summary>What happened, in words; for an abort, the guard rail that stopped it.</summary>
    public string? Message { get; set; }
    /// <summary>Succeeded: True when Passed, False when Failed or Aborted (the reason says why), Unknown before.</summary>
    public IList<V1Condition>? Conditions { get; set; }
}

/// <summary>Scheduled drills of a policy (game days).</summary>
public sealed class DrillsSpec
{
    /// <summary>
    /// Cron schedule in UTC: 5 fields, or 6 with seconds first, or a macro such as `@weekly`. One ResilienceDrill per
    /// due time, named `&lt;policy&gt;-drill-&lt;yyyyMMddHHmmss&gt;`.
    /// </summary>
    [SchemaRequired]
    [SchemaPattern(BackupSpec.CronPattern)]
    public string Schedule { get; set; } = "";

    /// <summary>The action of each scheduled drill.</summary>
    [SchemaDefault("KillPods")]
    public DrillAction Action { get; set; } = DrillAction.KillPods;

    /// <summary>The maxUnavailable of each scheduled drill.</summary>
    [SchemaDefault(1)]
    [SchemaRange(1, 1000)]
    public int MaxUnavailable { get; set; } = 1;
}

/// <summary>The newest finished drill of a policy.</summary>
public sealed class DrillRecord
{
    /// <summary>Name of the ResilienceDrill.</summary>
    public string Name { get; set; } = "";
    /// <summary>Passed, Failed or Aborted.</summary>
    public string Result { get; set; } = "";
    /// <summary>Seconds from the injection to serving again (absent when the policy did not recover).</summary>
    public double? RtoSeconds { get; set; }
    /// <summary>When the drill ended.</summary>
    public DateTime? Time { get; set; }
}

/// <summary>A list of ResilienceDrill.</summary>
public sealed class ResilienceDrillList : IKubernetesObject<V1ListMeta>, IItems<ResilienceDrill>
{
    /// <summary>APIVersion.</summary>
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = GroupVersion.ApiVersion;
    /// <summary>Kind.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = ResilienceDrill.KubeKind + "List";
    /// <summary>List metadata.</summary>
    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();
    /// <summary>The drills.</summary>
    [JsonPropertyName("items")]
    public IList<ResilienceDrill> Items { get; set; } = [];
}
