using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace ResilienceOperator.Entities;

/// <summary>
/// Keeps a group of Deployments or StatefulSets resilient: replica floors, health checks, and traffic
/// failover between a primary and standbys by priority.
/// </summary>
[KubernetesEntity(Group = GroupVersion.Group, ApiVersion = GroupVersion.Version, Kind = KubeKind, PluralName = KubePluralName)]
[ShortNames("rp")]
[Categories("resilience")]
[PrinterColumn("Mode", "string", ".spec.mode", Description = "ActivePassive or ActiveActive")]
[PrinterColumn("Active", "string", ".status.activeTargetNames", Description = "Every target receiving traffic, comma-separated")]
[PrinterColumn("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", Description = "The Ready condition")]
[PrinterColumn("Reason", "string", ".status.conditions[?(@.type==\"Ready\")].reason", Description = "Why the policy is (not) ready", Priority = 1)]
[PrinterColumn("RPO", "date", ".status.backup.lastCompletedTime", Description = "Age of the newest completed backup: the data a recovery would lose now")]
[PrinterColumn("Failovers", "integer", ".status.failover.count", Description = "Failovers so far", Priority = 1)]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class ResiliencePolicy : CustomResource<ResiliencePolicySpec, ResiliencePolicyStatus>
{
    /// <summary>Kind.</summary>
    public const string KubeKind = "ResiliencePolicy";
    /// <summary>Plural resource name.</summary>
    public const string KubePluralName = "resiliencepolicies";

    /// <summary>What the policy enforces.</summary>
    [JsonPropertyName("spec")]
    [SchemaRequired]
    public override ResiliencePolicySpec Spec { get; set; } = new();

    /// <summary>What the operator observed and did.</summary>
    [JsonPropertyName("status")]
    public override ResiliencePolicyStatus? Status { get; set; }
}

/// <summary>A list of ResiliencePolicy.</summary>
public sealed class ResiliencePolicyList : IKubernetesObject<V1ListMeta>, IItems<ResiliencePolicy>
{
    /// <summary>APIVersion.</summary>
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = GroupVersion.ApiVersion;
    /// <summary>Kind.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = ResiliencePolicy.KubeKind + "List";
    /// <summary>List metadata.</summary>
    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();
    /// <summary>The policies.</summary>
    [JsonPropertyName("items")]
    public IList<ResiliencePolicy> Items { get; set; } = [];
}
