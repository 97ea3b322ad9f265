using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Kubernetes;

/// <summary>
/// The writes to the operator's own resources (ResiliencePolicy, ResilienceBackup, ResilienceRestore,
/// ResilienceDrill), for any of them: group, version and plural come from the type's
/// <see cref="KubernetesEntityAttribute"/>. Every write goes through <see cref="ClusterWriter.Guard{T}(LeaseFence, string, string, Func{Task{T}})"/>
/// (refused without the lease, counted by plural and verb, conflicts requeue) with the operator's field manager.
/// </summary>
internal sealed class CustomResourceWriter(IKubernetes client, LeaseFence fence)
{
    /// <summary>
    /// Replaces the status through the status subresource, guarded by the resourceVersion the
    /// decision was made on — only when it differs from the status <paramref name="obj"/> holds, as
    /// the wire sees it. Null when nothing was written.
    /// </summary>
    public async Task<T?> WriteStatusAsync<T, TStatus>(T obj, TStatus status, CancellationToken ct)
        where T : class, IKubernetesObject<V1ObjectMeta>, IStatus<TStatus?>
        where TStatus : class
    {
        if (SameOnTheWire(obj.Status, status)) return null;
        var e = EntityNames.Of<T>();
        var patch = new JsonArray(
            new JsonObject { ["op"] = "test", ["path"] = "/metadata/resourceVersion", ["value"] = obj.Metadata.ResourceVersion },
            new JsonObject { ["op"] = "add", ["path"] = "/status", ["value"] = ServerCompatibility.WireForm(status) });
        return Read<T>(await ClusterWriter.Guard(fence, e.PluralName + "/status", "patch", () => client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch(patch.ToJsonString(), V1Patch.PatchType.JsonPatch), e.Group, e.ApiVersion,
            obj.Metadata.NamespaceProperty, e.PluralName, obj.Metadata.Name, fieldManager: ClusterWriter.FieldManager, cancellationToken: ct)));
    }

    /// <summary>
    /// Whether <paramref name="planned"/> would write what <paramref name="current"/> holds. The plan is
    /// round-tripped through the serializer first, so precision lost on the wire does not make every
    /// reconcile look like a change: an object at rest writes nothing.
    /// </summary>
    public static bool SameOnTheWire<TStatus>(TStatus? current, TStatus planned) where TStatus : class
    {
        var p = ServerCompatibility.WireForm(KubernetesJson.Deserialize<TStatus>(KubernetesJson.Serialize(planned))).ToJsonString();
        var c = current is null ? "" : ServerCompatibility.WireForm(current).ToJsonString();
        return p == c;
    }

    /// <summary>
    /// Merges <paramref name="fields"/> into the status through the status subresource, without a
    /// resourceVersion: for a field another writer keeps while the owner of the rest of the status writes it.
    /// </summary>
    public async Task<T> MergeStatusAsync<T>(T obj, JsonObject fields, CancellationToken ct) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var e = EntityNames.Of<T>();
        var patch = new JsonObject { ["status"] = fields };
        return Read<T>(await ClusterWriter.Guard(fence, e.PluralName + "/status", "patch", () => client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            ClusterWriter.Merge(patch), e.Group, e.ApiVersion, obj.Metadata.NamespaceProperty,
            e.PluralName, obj.Metadata.Name, fieldManager: ClusterWriter.FieldManager, cancellationToken: ct)));
    }

    /// <summary>Adds or removes <paramref name="finalizer"/>, keeping the others, guarded by resourceVersion.</summary>
    public Task<T> SetFinalizerAsync<T>(T obj, string finalizer, bool present, CancellationToken ct) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var finalizers = (obj.Metadata.Finalizers ?? []).Where(f => f != finalizer).ToList();
        if (present) finalizers.Add(finalizer);
        return PatchAsync(obj, new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["resourceVersion"] = obj.Metadata.ResourceVersion,
                ["finalizers"] = new JsonArray([.. finalizers.Select(f => (JsonNode)JsonValue.Create(f)!)]),
            },
        }, ct);
    }

    /// <summary>Removes one annotation, whatever the resourceVersion.</summary>
    public Task<T> RemoveAnnotationAsync<T>(T obj, string annotation, CancellationToken ct) where T : class, IKubernetesObject<V1ObjectMeta> =>
        PatchAsync(obj, new JsonObject
        {
            ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [annotation] = null } },
        }, ct);

    /// <summary>A JSON merge patch of the object (not its status).</summary>
    private async Task<T> PatchAsync<T>(T obj, JsonObject patch, CancellationToken ct) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var e = EntityNames.Of<T>();
        return Read<T>(await ClusterWriter.Guard(fence, e.PluralName, "patch", () => client.CustomObjects.PatchNamespacedCustomObjectAsync(
            ClusterWriter.Merge(patch), e.Group, e.ApiVersion, obj.Metadata.NamespaceProperty, e.PluralName,
            obj.Metadata.Name, fieldManager: ClusterWriter.FieldManager, cancellationToken: ct)));
    }

    /// <summary>
    /// Creates <paramref name="body"/> (its status left out) owned by <paramref name="owner"/>; null when
    /// it exists already (409 AlreadyExists: the deterministic name was created before — by us before a
    /// restart, or by another leader).
    /// </summary>
    public Task<T?> CreateAsync<T>(IKubernetesObject<V1ObjectMeta> owner, T body, CancellationToken ct) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var e = EntityNames.Of<T>();
        body.Metadata.OwnerReferences = [OwnerReferences.ControlledBy(owner)];
        var json = JsonNode.Parse(KubernetesJson.Serialize(body))!.AsObject();
        json.Remove("status");
        return ClusterWriter.Guard(fence, e.PluralName, "create", () => ClusterWriter.ExistingIsNull(async () =>
            Read<T>(await client.CustomObjects.CreateNamespacedCustomObjectAsync(json, e.Group, e.ApiVersion,
                body.Metadata.NamespaceProperty, e.PluralName, fieldManager: ClusterWriter.FieldManager, cancellationToken: ct))));
    }

    /// <summary>Deletes one object; one already gone is fine.</summary>
    public Task DeleteAsync<T>(string ns, string name, V1DeleteOptions? options, CancellationToken ct) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var e = EntityNames.Of<T>();
        return ClusterWriter.Guard(fence, e.PluralName, "delete", () =>
            ClusterWriter.GoneIsFine(() => client.CustomObjects.DeleteNamespacedCustomObjectAsync(e.Group, e.ApiVersion, ns,
                e.PluralName, name, options, cancellationToken: ct)));
    }

    private static T Read<T>(object body) => KubernetesJson.Deserialize<T>(((JsonElement)body).GetRawText());
}
