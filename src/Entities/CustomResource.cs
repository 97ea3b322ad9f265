using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace ResilienceOperator.Entities;

/// <summary>
/// The header every resource of the operator shares: apiVersion and kind, taken from the type's
/// <see cref="KubernetesEntityAttribute"/>, and the object metadata. Spec and status are declared
/// by each kind, with its own documentation (it becomes the CRD's field descriptions).
/// </summary>
/// <typeparam name="TSpec">The spec.</typeparam>
/// <typeparam name="TStatus">The status.</typeparam>
public abstract class CustomResource<TSpec, TStatus> : IKubernetesObject<V1ObjectMeta>, ISpec<TSpec>, IStatus<TStatus?>
    where TSpec : class
    where TStatus : class
{
    /// <summary>Sets apiVersion and kind from the type's <see cref="KubernetesEntityAttribute"/>.</summary>
    protected CustomResource()
    {
        var entity = EntityNames.Of(GetType());
        ApiVersion = entity.Group + "/" + entity.ApiVersion;
        Kind = entity.Kind;
    }

    /// <summary>APIVersion.</summary>
    [JsonPropertyName("apiVersion")]
    [JsonPropertyOrder(-3)]
    public string ApiVersion { get; set; }

    /// <summary>Kind.</summary>
    [JsonPropertyName("kind")]
    [JsonPropertyOrder(-2)]
    public string Kind { get; set; }

    /// <summary>Standard object metadata.</summary>
    [JsonPropertyName("metadata")]
    [JsonPropertyOrder(-1)]
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The desired state.</summary>
    public abstract TSpec Spec { get; set; }

    /// <summary>The observed state.</summary>
    public abstract TStatus? Status { get; set; }
}

/// <summary>Group, version, kind and plural of a resource type, read once from its <see cref="KubernetesEntityAttribute"/>.</summary>
public static class EntityNames
{
    private static readonly ConcurrentDictionary<Type, KubernetesEntityAttribute> Entities = new();

    /// <summary>The <see cref="KubernetesEntityAttribute"/> of <paramref name="type"/>.</summary>
    public static KubernetesEntityAttribute Of(Type type) => Entities.GetOrAdd(type, t =>
        t.GetCustomAttribute<KubernetesEntityAttribute>() ?? throw new InvalidOperationException($"{t} has no [KubernetesEntity]"));

    /// <summary>The <see cref="KubernetesEntityAttribute"/> of <typeparamref name="T"/>.</summary>
    public static KubernetesEntityAttribute Of<T>() => Of(typeof(T));
}
