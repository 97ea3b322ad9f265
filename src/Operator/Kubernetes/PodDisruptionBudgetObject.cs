using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace ResilienceOperator.Kubernetes;

/// <summary>
/// A PodDisruptionBudget read and written through the group/version the API server serves
/// (policy/v1, or policy/v1beta1 before Kubernetes 1.21): the fields the operator uses are the same.
/// </summary>
internal sealed class PodDisruptionBudgetObject : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "policy/v1";
    [JsonPropertyName("kind")] public string Kind { get; set; } = "PodDisruptionBudget";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public PdbSpec Spec { get; set; } = new();

    internal sealed class PdbSpec
    {
        [JsonPropertyName("maxUnavailable")] public IntOrString? MaxUnavailable { get; set; }
        [JsonPropertyName("selector")] public V1LabelSelector? Selector { get; set; }
    }
}

internal sealed class PodDisruptionBudgetList
{
    [JsonPropertyName("metadata")] public V1ListMeta Metadata { get; set; } = new();
    [JsonPropertyName("items")] public IList<PodDisruptionBudgetObject> Items { get; set; } = [];
}
