using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace ResilienceOperator.Entities;

/// <summary>
/// One restore of a target from a backup: the policy's restore template as a Job. The operator
/// creates one per incident (healthCheck.onFail Restore or FailoverAndRestore); a person may
/// create one by hand. Traffic returns to the target only after it completed.
/// </summary>
[KubernetesEntity(Group = GroupVersion.Group, ApiVersion = GroupVersion.Version, Kind = KubeKind, PluralName = KubePluralName)]
[ShortNames("rrs")]
[Categories("resilience")]
[PrinterColumn("Policy", "string", ".spec.policy", Description = "The ResiliencePolicy whose restore template runs")]
[PrinterColumn("Backup", "string", ".status.backup", Description = "The backup restored")]
[PrinterColumn("Target", "string", ".spec.target", Description = "The target restored")]
[PrinterColumn("Phase", "string", ".status.phase", Description = "Pending, Running, Completed or Failed")]
[PrinterColumn("Attempts", "integer", ".status.attempts", Description = "Job attempts so far", Priority = 1)]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class ResilienceRestore : CustomResource<ResilienceRestoreSpec, ResilienceRunStatus>
{
    /// <summary>Kind.</summary>
    public const string KubeKind = "ResilienceRestore";
    /// <summary>Plural resource name.</summary>
    public const string KubePluralName = "resiliencerestores";

    /// <summary>Which policy, backup and target.</summary>
    [JsonPropertyName("spec")]
    [SchemaRequired]
    public override ResilienceRestoreSpec Spec { get; set; } = new();

    /// <summary>How the run went.</summary>
    [JsonPropertyName("status")]
    public override ResilienceRunStatus? Status { get; set; }
}

/// <summary>A restore run.</summary>
public sealed class ResilienceRestoreSpec
{
    /// <summary>Name of the ResiliencePolicy in this namespace whose restore template runs.</summary>
    [SchemaRequired]
    [SchemaLength(1, 253)]
    public string Policy { get; set; } = "";

    /// <summary>
    /// Name of a Completed ResilienceBackup of that policy; empty = the newest completed one that is not
    /// suspect (the last known good), a verified one preferred.
    /// </summary>
    public string? Backup { get; set; }

    /// <summary>
    /// Restore the backup named in spec.backup even when it is suspect (condition `Suspect`: its target was failing,
    /// or it completed after a failure began). Without it a suspect backup is refused.
    /// </summary>
    public bool? AllowSuspect { get; set; }

    /// <summary>The target restored (`TARGET`): one of the policy's targets.</summary>
    [SchemaRequired]
    [SchemaLength(1, 253)]
    public string Target { get; set; } = "";
}

/// <summary>A list of ResilienceRestore.</summary>
public sealed class ResilienceRestoreList : IKubernetesObject<V1ListMeta>, IItems<ResilienceRestore>
{
    /// <summary>APIVersion.</summary>
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = GroupVersion.ApiVersion;
    /// <summary>Kind.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = ResilienceRestore.KubeKind + "List";
    /// <summary>List metadata.</summary>
    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();
    /// <summary>The restores.</summary>
    [JsonPropertyName("items")]
    public IList<ResilienceRestore> Items { get; set; } = [];
}
