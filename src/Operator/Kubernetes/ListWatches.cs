using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Runtime;

// WatcherExt.WatchAsync<T, L> is marked obsolete in favour of untyped per-call helpers; the typed
// form is what a generic informer needs, and it is still the one the client implements.
#pragma warning disable CS0618

namespace ResilienceOperator.Kubernetes;

/// <summary>List and watch calls for every type the operator caches.</summary>
internal static class ListWatches
{
    public static ListWatch<ResiliencePolicy> Policies(IKubernetes c) => Custom<ResiliencePolicy, ResiliencePolicyList>(c,
        ResiliencePolicy.KubeGroup, ResiliencePolicy.KubeApiVersion, ResiliencePolicy.KubePluralName, l => (l.Items, l.Metadata.ResourceVersion));

    public static ListWatch<PodDisruptionBudgetObject> Pdbs(IKubernetes c, string groupVersion) =>
        Custom<PodDisruptionBudgetObject, PodDisruptionBudgetList>(c, "policy", groupVersion.Split('/')[1], "poddisruptionbudgets",
            l => (l.Items, l.Metadata.ResourceVersion), "resilience.dev/policy");

    public static ListWatch<ResilienceBackup> Backups(IKubernetes c) => Custom<ResilienceBackup, ResilienceBackupList>(c,
        ResiliencePolicy.KubeGroup, ResiliencePolicy.KubeApiVersion, ResilienceBackup.KubePluralName, l => (l.Items, l.Metadata.ResourceVersion));

    public static ListWatch<ResilienceRestore> Restores(IKubernetes c) => Custom<ResilienceRestore, ResilienceRestoreList>(c,
        ResiliencePolicy.KubeGroup, ResiliencePolicy.KubeApiVersion, ResilienceRestore.KubePluralName, l => (l.Items, l.Metadata.ResourceVersion));

    public static ListWatch<ResilienceDrill> Drills(IKubernetes c) => Custom<ResilienceDrill, ResilienceDrillList>(c,
        ResiliencePolicy.KubeGroup, ResiliencePolicy.KubeApiVersion, ResilienceDrill.KubePluralName, l => (l.Items, l.Metadata.ResourceVersion));

    /// <summary>KEDA ScaledObjects (only when the API server serves keda.sh/v1alpha1).</summary>
    public static ListWatch<ScaledObject> ScaledObjects(IKubernetes c) => Custom<ScaledObject, ScaledObjectList>(c,
        ScaledObject.Group, ScaledObject.Version, ScaledObject.Plural, l => (l.Items, l.Metadata.ResourceVersion));

    /// <summary>Only the operator's own Jobs (backup and restore attempts), by their policy label.</summary>
    public static ListWatch<V1Job> Jobs(IKubernetes c) => new(
        async (ns, ct) =>
        {
            var l = ns is null ? await c.BatchV1.ListJobForAllNamespacesAsync(labelSelector: ClusterWriter.PolicyLabel, cancellationToken: ct)
                : await c.BatchV1.ListNamespacedJobAsync(ns, labelSelector: ClusterWriter.PolicyLabel, cancellationToken: ct);
            return (l.Items, l.Metadata.ResourceVersion);
        },
        (ns, rv, timeout, ct) => ns is null
            ? c.BatchV1.ListJobForAllNamespacesWithHttpMessagesAsync(labelSelector: ClusterWriter.PolicyLabel, watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct).WatchAsync<V1Job, V1JobList>(null, ct)
            : c.BatchV1.ListNamespacedJobWithHttpMessagesAsync(ns, labelSelector: ClusterWriter.PolicyLabel, watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct).WatchAsync<V1Job, V1JobList>(null, ct));

    public static ListWatch<V1Deployment> Deployments(IKubernetes c) => new(
        async (ns, ct) =>
        {
            var l = ns is null ? await c.AppsV1.ListDeploymentForAllNamespacesAsync(cancellationToken: ct)
                : await c.AppsV1.ListNamespacedDeploymentAsync(ns, cancellationToken: ct);
            return (l.Items, l.Metadata.ResourceVersion);
        },
        (ns, rv, timeout, ct) => ns is null
            ? c.AppsV1.ListDeploymentForAllNamespacesWithHttpMessagesAsync(watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct).WatchAsync<V1Deployment, V1DeploymentList>(null, ct)
            : c.AppsV1.ListNamespacedDeploymentWithHttpMessagesAsync(ns, watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct).WatchAsync<V1Deployment, V1DeploymentList>(null, ct));

    public static ListWatch<V1Pod> Pods(IKubernetes c) => new(
        async (ns, ct) =>
        {
            var l = ns is null ? await c.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: ct)
                : await c.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: ct);
            return (l.Items, l.Metadata.ResourceVersion);
        },
        (ns, rv, timeout, ct) => ns is null
            ? c.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct).WatchAsync<V1Pod, V1PodList>(null, ct)
            : c.CoreV1.ListNamespacedPodWithHttpMessagesAsync(ns, watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct).WatchAsync<V1Pod, V1PodList>(null, ct));

    public static ListWatch<V1Service> Services(IKubernetes c) => new(
        async (ns, ct) =>
        {
            var l = ns is null ? await c.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: ct)
                : await c.CoreV1.ListNamespacedServiceAsync(ns, cancellationToken: ct);
            return (l.Items, l.Metadata.ResourceVersion);
        },
        (ns, rv, timeout, ct) => ns is null
            ? c.CoreV1.ListServiceForAllNamespacesWithHttpMessagesAsync(watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct).WatchAsync<V1Service, V1ServiceList>(null, ct)
            : c.CoreV1.ListNamespacedServiceWithHttpMessagesAsync(ns, watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct).WatchAsync<V1Service, V1ServiceList>(null, ct));

    public static ListWatch<V1HorizontalPodAutoscaler> Hpas(IKubernetes c) => new(
        async (ns, ct) =>
        {
            var l = ns is null ? await c.AutoscalingV1.ListHorizontalPodAutoscalerForAllNamespacesAsync(cancellationToken: ct)
                : await c.AutoscalingV1.ListNamespacedHorizontalPodAutoscalerAsync(ns, cancellationToken: ct);
            return (l.Items, l.Metadata.ResourceVersion);
        },
        (ns, rv, timeout, ct) => ns is null
            ? c.AutoscalingV1.ListHorizontalPodAutoscalerForAllNamespacesWithHttpMessagesAsync(watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct).WatchAsync<V1HorizontalPodAutoscaler, V1HorizontalPodAutoscalerList>(null, ct)
            : c.AutoscalingV1.ListNamespacedHorizontalPodAutoscalerWithHttpMessagesAsync(ns, watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct).WatchAsync<V1HorizontalPodAutoscaler, V1HorizontalPodAutoscalerList>(null, ct));

    private static ListWatch<T> Custom<T, TList>(IKubernetes c, string group, string version, string plural,
        Func<TList, (IList<T>, string)> unpack, string? labelSelector = null)
        where T : IKubernetesObject<V1ObjectMeta> => new(
        async (ns, ct) =>
        {
            var body = ns is null
                ? await c.CustomObjects.ListClusterCustomObjectAsync(group, version, plural, labelSelector: labelSelector, cancellationToken: ct)
                : await c.CustomObjects.ListNamespacedCustomObjectAsync(group, version, ns, plural, labelSelector: labelSelector, cancellationToken: ct);
            var list = KubernetesJson.Deserialize<TList>((JsonElement)body);
            return unpack(list);
        },
        (ns, rv, timeout, ct) => WatchCustom<T>(ns is null
            ? c.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync(group, version, plural, labelSelector: labelSelector, watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct)
            : c.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync(group, version, ns, plural, labelSelector: labelSelector, watch: true, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout, cancellationToken: ct), ct));

    private static async IAsyncEnumerable<(WatchEventType, T)> WatchCustom<T>(Task<k8s.Autorest.HttpOperationResponse<object>> response, [EnumeratorCancellation] CancellationToken ct)
    {
        Exception? error = null;
        await foreach (var e in response.WatchAsync<T, object>(ex => error = ex, ct))
        {
            yield return e;
        }
        if (error is not null) throw new InvalidOperationException("watch stream failed: " + error.Message, error);
    }
}
