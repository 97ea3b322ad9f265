// Minimal models of another project's kind: only the fields the operator reads; their meaning is documented upstream.
#pragma warning disable CS1591
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace ResilienceOperator.Entities;

/// <summary>
/// A PodDisruptionBudget read and written through the group/version the API server serves
/// (policy/v1, or policy/v1beta1 before Kubernetes 1.21): the fields the operator uses are the same.
/// </summary>
public sealed class PodDisruptionBudgetObject : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "policy/v1";
    [JsonPropertyName("kind")] public string Kind { get; set; } = "PodDisruptionBudget";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public PdbSpec Spec { get; set; } = new();

    public sealed class PdbSpec
    {
        [JsonPropertyName("maxUnavailable")] public IntOrString? MaxUnavailable { get; set; }
        [JsonPropertyName("selector")] public V1LabelSelector? Selector { get; set; }
    }
}

public sealed class PodDisruptionBudgetList
{
    [JsonPropertyName("metadata")] public V1ListMeta Metadata { get; set; } = new();
    [JsonPropertyName("items")] public IList<PodDisruptionBudgetObject> Items { get; set; } = [];
}
