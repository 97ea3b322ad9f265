// Minimal models of another project's kind: only the fields the operator reads; their meaning is documented upstream.
#pragma warning disable CS1591
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace ResilienceOperator.Entities;

/// <summary>
/// A KEDA ScaledObject (keda.sh/v1alpha1), only the fields the operator reads: which Deployment it
/// scales and its annotations (KEDA's pause annotation lives there).
/// </summary>
public sealed class ScaledObject : IKubernetesObject<V1ObjectMeta>
{
    public const string Group = "keda.sh";
    public const string Version = "v1alpha1";
    public const string Plural = "scaledobjects";
    /// <summary>KEDA stops scaling the target while this annotation is "true".</summary>
    public const string PausedAnnotation = "autoscaling.keda.sh/paused";

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = Group + "/" + Version;
    [JsonPropertyName("kind")] public string Kind { get; set; } = "ScaledObject";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public ScaledObjectSpec Spec { get; set; } = new();

    /// <summary>The Deployment it scales, or null when it scales something else.</summary>
    [JsonIgnore]
    public string? TargetDeployment => Spec.ScaleTargetRef?.Name is { Length: > 0 } name
        && (string.IsNullOrEmpty(Spec.ScaleTargetRef.Kind) || Spec.ScaleTargetRef.Kind == "Deployment") ? name : null;

    [JsonIgnore]
    public bool Paused => Metadata.Annotations?.TryGetValue(PausedAnnotation, out var v) == true
        && string.Equals(v, "true", StringComparison.OrdinalIgnoreCase);

    [JsonIgnore]
    public bool PausedByOperator => Metadata.Annotations?.TryGetValue(Annotations.PausedByOperator, out var v) == true && v == "true";

    public sealed class ScaledObjectSpec
    {
        [JsonPropertyName("scaleTargetRef")] public ScaleTarget? ScaleTargetRef { get; set; }
    }

    public sealed class ScaleTarget
    {
        [JsonPropertyName("name")] public string? Name { get; set; }
        [JsonPropertyName("kind")] public string? Kind { get; set; }
        [JsonPropertyName("apiVersion")] public string? ApiVersion { get; set; }
    }
}

public sealed class ScaledObjectList
{
    [JsonPropertyName("metadata")] public V1ListMeta Metadata { get; set; } = new();
    [JsonPropertyName("items")] public IList<ScaledObject> Items { get; set; } = [];
}
