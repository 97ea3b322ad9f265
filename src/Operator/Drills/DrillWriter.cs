using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Policy;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Drills;

/// <summary>
/// The writes of drills, through <see cref="ClusterWriter.Guard{T}(LeaseFence, string, string, Func{Task{T}})"/>
/// (refused without the lease, conflicts requeue, missing permissions are reported), with the operator's field manager.
/// </summary>
internal sealed class DrillWriter(IKubernetes client, LeaseFence fence)
{
    public async Task<ResilienceDrill> SetFinalizerAsync(ResilienceDrill drill, bool present, CancellationToken ct)
    {
        var finalizers = (drill.Metadata.Finalizers ?? []).Where(f => f != Finalizers.Drill).ToList();
        if (present) finalizers.Add(Finalizers.Drill);
        var body = await ClusterWriter.Guard(fence, ResilienceDrill.KubePluralName, "patch", () => client.CustomObjects.PatchNamespacedCustomObjectAsync(ClusterWriter.Merge(new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["resourceVersion"] = drill.Metadata.ResourceVersion,
                ["finalizers"] = new JsonArray([.. finalizers.Select(f => (JsonNode)JsonValue.Create(f)!)]),
            },
        }), GroupVersion.Group, GroupVersion.Version, drill.Metadata.NamespaceProperty, ResilienceDrill.KubePluralName,
            drill.Metadata.Name, fieldManager: ClusterWriter.FieldManager, cancellationToken: ct));
        return As<ResilienceDrill>(body);
    }

    /// <summary>Replaces the drill's status through its status subresource, guarded by resourceVersion.</summary>
    public async Task<ResilienceDrill> PatchStatusAsync(ResilienceDrill drill, ResilienceDrillStatus status, CancellationToken ct)
    {
        var patch = new JsonArray(
            new JsonObject { ["op"] = "test", ["path"] = "/metadata/resourceVersion", ["value"] = drill.Metadata.ResourceVersion },
            new JsonObject { ["op"] = "add", ["path"] = "/status", ["value"] = WireForm(status) });
        var body = await ClusterWriter.Guard(fence, ResilienceDrill.KubePluralName + "/status", "patch", () => client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch(patch.ToJsonString(), V1Patch.PatchType.JsonPatch), GroupVersion.Group, GroupVersion.Version,
            drill.Metadata.NamespaceProperty, ResilienceDrill.KubePluralName, drill.Metadata.Name, fieldManager: ClusterWriter.FieldManager, cancellationToken: ct));
        return As<ResilienceDrill>(body);
    }

    /// <summary>
    /// Writes only status.lastDrill of the policy, with a JSON merge patch on the status subresource
    /// and no resourceVersion: the policy reconciler owns the rest of the status and keeps this field.
    /// </summary>
    public async Task<ResiliencePolicy> SetLastDrillAsync(ResiliencePolicy policy, DrillRecord record, CancellationToken ct)
    {
        var patch = new JsonObject { ["status"] = new JsonObject { ["lastDrill"] = ClusterWriter.WithoutEmpty(JsonNode.Parse(KubernetesJson.Serialize(record))) } };
        var body = await ClusterWriter.Guard(fence, ResiliencePolicy.KubePluralName + "/status", "patch", () => client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            ClusterWriter.Merge(patch), GroupVersion.Group, GroupVersion.Version, policy.Metadata.NamespaceProperty,
            ResiliencePolicy.KubePluralName, policy.Metadata.Name, fieldManager: ClusterWriter.FieldManager, cancellationToken: ct));
        return As<ResiliencePolicy>(body);
    }

    /// <summary>KillPods: deletes one pod; one already gone is fine.</summary>
    public Task DeletePodAsync(string ns, string name, CancellationToken ct) => ClusterWriter.Guard(fence, "pods", "delete", async () =>
    {
        try { await client.CoreV1.DeleteNamespacedPodAsync(name, ns, cancellationToken: ct); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
        return 0;
    });

    /// <summary>
    /// FailTarget: scales the Deployment to zero and marks it with the drill's name and its replicas
    /// before, in one patch guarded by resourceVersion (the count saved is the one the decision saw).
    /// </summary>
    public Task<V1Deployment> FailAsync(V1Deployment d, string drill, CancellationToken ct) => ClusterWriter.Guard(fence, "deployments", "patch", () =>
        client.AppsV1.PatchNamespacedDeploymentAsync(ClusterWriter.Merge(new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["resourceVersion"] = d.Metadata.ResourceVersion,
                ["annotations"] = new JsonObject
                {
                    [Annotations.Drill] = drill,
                    [Annotations.DrillReplicas] = (d.Spec.Replicas ?? 1).ToString(CultureInfo.InvariantCulture),
                },
            },
            ["spec"] = new JsonObject { ["replicas"] = 0 },
        }), d.Metadata.Name, d.Metadata.NamespaceProperty, fieldManager: ClusterWriter.FieldManager, cancellationToken: ct));

    /// <summary>Undoes <see cref="FailAsync"/>: the saved replicas back, both annotations gone.</summary>
    public Task<V1Deployment> RestoreAsync(V1Deployment d, int replicas, CancellationToken ct) => ClusterWriter.Guard(fence, "deployments", "patch", () =>
        client.AppsV1.PatchNamespacedDeploymentAsync(ClusterWriter.Merge(new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["annotations"] = new JsonObject { [Annotations.Drill] = null, [Annotations.DrillReplicas] = null },
            },
            ["spec"] = new JsonObject { ["replicas"] = replicas },
        }), d.Metadata.Name, d.Metadata.NamespaceProperty, fieldManager: ClusterWriter.FieldManager, cancellationToken: ct));

    /// <summary>Creates a scheduled drill owned by the policy; null when it exists already (the slot was drilled).</summary>
    public Task<ResilienceDrill?> CreateAsync(ResiliencePolicy owner, string name, DrillsSpec drills, CancellationToken ct)
    {
        var body = new ResilienceDrill
        {
            Metadata = new V1ObjectMeta
            {
                Name = name, NamespaceProperty = owner.Metadata.NamespaceProperty,
                Labels = new Dictionary<string, string> { [Labels.Policy] = owner.Metadata.Name },
                OwnerReferences = [ClusterWriter.OwnerRef(owner)],
            },
            Spec = new ResilienceDrillSpec { Policy = owner.Metadata.Name, Action = drills.Action, MaxUnavailable = drills.MaxUnavailable },
        };
        var json = JsonNode.Parse(KubernetesJson.Serialize(body))!.AsObject();
        json.Remove("status");
        return ClusterWriter.Guard(fence, ResilienceDrill.KubePluralName, "create", async () =>
        {
            try
            {
                var created = await client.CustomObjects.CreateNamespacedCustomObjectAsync(json, GroupVersion.Group, GroupVersion.Version,
                    owner.Metadata.NamespaceProperty, ResilienceDrill.KubePluralName, fieldManager: ClusterWriter.FieldManager, cancellationToken: ct);
                return (ResilienceDrill?)As<ResilienceDrill>(created);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                return null; // AlreadyExists: this slot's drill was created before
            }
        });
    }

    /// <summary>The status as sent and compared: no nulls, no empty strings (see <see cref="ClusterWriter.WireForm(ResiliencePolicyStatus)"/>).</summary>
    internal static JsonNode WireForm(ResilienceDrillStatus status) =>
        ClusterWriter.WithoutEmpty(JsonNode.Parse(KubernetesJson.Serialize(status)))!;

    private static T As<T>(object body) => KubernetesJson.Deserialize<T>(((JsonElement)body).GetRawText());
}
