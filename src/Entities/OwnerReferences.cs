using k8s;
using k8s.Models;

namespace ResilienceOperator.Entities;

/// <summary>Owner references the operator puts on what it creates, so that Kubernetes' garbage collector removes them with their owner.</summary>
public static class OwnerReferences
{
    /// <summary>The reference that makes <paramref name="owner"/> the controller of an object: deleted with it, and blocking its deletion until gone.</summary>
    public static V1OwnerReference ControlledBy(IKubernetesObject<V1ObjectMeta> owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return new()
        {
            ApiVersion = owner.ApiVersion, Kind = owner.Kind, Name = owner.Metadata.Name, Uid = owner.Metadata.Uid,
            Controller = true, BlockOwnerDeletion = true,
        };
    }
}
