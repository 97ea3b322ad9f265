using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Kubernetes;

/// <summary>
/// The writes only drills make, through <see cref="ClusterWriter.Guard{T}(LeaseFence, string, string, Func{Task{T}})"/>
/// (refused without the lease, conflicts requeue, missing permissions are reported), with the operator's field manager.
/// A drill's own status and finalizer go through <see cref="Resources"/>.
/// </summary>
internal sealed class DrillWriter(IKubernetes client, LeaseFence fence)
{
    /// <summary>The writes to the operator's own resources.</summary>
    public CustomResourceWriter Resources { get; } = new(client, fence);

    /// <summary>
    /// Writes only status.lastDrill of the policy, with a JSON merge patch on the status subresource
    /// and no resourceVersion: the policy reconciler owns the rest of the status and keeps this field.
    /// </summary>
    public Task<ResiliencePolicy> SetLastDrillAsync(ResiliencePolicy policy, DrillRecord record, CancellationToken ct) =>
        Resources.MergeStatusAsync(policy, new JsonObject { ["lastDrill"] = ServerCompatibility.WireForm(record) }, ct);

    /// <summary>KillPods: deletes one pod; one already gone is fine.</summary>
    public Task DeletePodAsync(string ns, string name, CancellationToken ct) => ClusterWriter.Guard(fence, "pods", "delete", () =>
        ClusterWriter.GoneIsFine(() => client.CoreV1.DeleteNamespacedPodAsync(name, ns, cancellationToken: ct)));

    /// <summary>
    /// FailTarget: scales the Deployment to zero and marks it with the drill's name and its replicas
    /// before, in one patch guarded by resourceVersion (the count saved is the one the decision saw).
    /// </summary>
    public Task<IKubernetesObject<V1ObjectMeta>> FailAsync(V1Deployment d, string drill, CancellationToken ct) => PatchAsync(d, new JsonObject
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
    }, ct);

    /// <summary>Undoes <see cref="FailAsync"/>: the saved replicas back, both annotations gone.</summary>
    public Task<IKubernetesObject<V1ObjectMeta>> RestoreAsync(V1Deployment d, int replicas, CancellationToken ct) => PatchAsync(d, new JsonObject
    {
        ["metadata"] = new JsonObject
        {
            ["annotations"] = new JsonObject { [Annotations.Drill] = null, [Annotations.DrillReplicas] = null },
        },
        ["spec"] = new JsonObject { ["replicas"] = replicas },
    }, ct);

    /// <summary>A merge patch of a target of either kind (a StatefulSet comes as its <see cref="Workloads.View"/>).</summary>
    private async Task<IKubernetesObject<V1ObjectMeta>> PatchAsync(V1Deployment d, JsonObject patch, CancellationToken ct)
    {
        if (Workloads.KindOf(d) == WorkloadKind.StatefulSet)
            return await ClusterWriter.Guard(fence, "statefulsets", "patch", () => client.AppsV1.PatchNamespacedStatefulSetAsync(ClusterWriter.Merge(patch),
                d.Metadata.Name, d.Metadata.NamespaceProperty, fieldManager: ClusterWriter.FieldManager, cancellationToken: ct));
        return await ClusterWriter.Guard(fence, "deployments", "patch", () => client.AppsV1.PatchNamespacedDeploymentAsync(ClusterWriter.Merge(patch),
            d.Metadata.Name, d.Metadata.NamespaceProperty, fieldManager: ClusterWriter.FieldManager, cancellationToken: ct));
    }

    /// <summary>Creates a scheduled drill owned by the policy; null when it exists already (the slot was drilled).</summary>
    public Task<ResilienceDrill?> CreateAsync(ResiliencePolicy owner, string name, DrillsSpec drills, CancellationToken ct) =>
        Resources.CreateAsync(owner, new ResilienceDrill
        {
            Metadata = new V1ObjectMeta
            {
                Name = name, NamespaceProperty = owner.Metadata.NamespaceProperty,
                Labels = new Dictionary<string, string> { [Labels.Policy] = owner.Metadata.Name },
            },
            Spec = new ResilienceDrillSpec { Policy = owner.Metadata.Name, Action = drills.Action, MaxUnavailable = drills.MaxUnavailable },
        }, ct);
}
