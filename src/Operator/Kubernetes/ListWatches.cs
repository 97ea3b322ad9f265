using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using k8s.Autorest;
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
    /// <summary>The policies; with a <paramref name="labelSelector"/> (a shard) only those it matches, filtered by the API server.</summary>
    public static ListWatch<ResiliencePolicy> Policies(IKubernetes c, string? labelSelector = null) => Custom<ResiliencePolicy>(c,
        GroupVersion.Group, GroupVersion.Version, ResiliencePolicy.KubePluralName, string.IsNullOrEmpty(labelSelector) ? null : labelSelector);

    public static ListWatch<PodDisruptionBudgetObject> Pdbs(IKubernetes c, string groupVersion) =>
        Custom<PodDisruptionBudgetObject>(c, "policy", groupVersion.Split('/')[1], "poddisruptionbudgets", Labels.Policy);

    public static ListWatch<ResilienceBackup> Backups(IKubernetes c) => Custom<ResilienceBackup>(c,
        GroupVersion.Group, GroupVersion.Version, ResilienceBackup.KubePluralName);

    public static ListWatch<ResilienceRestore> Restores(IKubernetes c) => Custom<ResilienceRestore>(c,
        GroupVersion.Group, GroupVersion.Version, ResilienceRestore.KubePluralName);

    public static ListWatch<ResilienceDrill> Drills(IKubernetes c) => Custom<ResilienceDrill>(c,
        GroupVersion.Group, GroupVersion.Version, ResilienceDrill.KubePluralName);

    /// <summary>KEDA ScaledObjects (only when the API server serves keda.sh/v1alpha1).</summary>
    public static ListWatch<ScaledObject> ScaledObjects(IKubernetes c) => Custom<ScaledObject>(c,
        ScaledObject.Group, ScaledObject.Version, ScaledObject.Plural);

    /// <summary>Only the operator's own Jobs (backup and restore attempts, failover hooks), by their policy label.</summary>
    public static ListWatch<V1Job> Jobs(IKubernetes c) => Typed<V1Job, V1JobList>(c, "apis/batch/v1", "jobs", Labels.Policy,
        (ns, q, ct) => ns is null
        ? c.BatchV1.ListJobForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: true, labelSelector: Labels.Policy,
            resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: true, cancellationToken: ct)
        : c.BatchV1.ListNamespacedJobWithHttpMessagesAsync(ns, allowWatchBookmarks: true, labelSelector: Labels.Policy,
            resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: true, cancellationToken: ct));

    public static ListWatch<V1Deployment> Deployments(IKubernetes c) => Typed<V1Deployment, V1DeploymentList>(c, "apis/apps/v1", "deployments", null,
        (ns, q, ct) => ns is null
        ? c.AppsV1.ListDeploymentForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: true,
            resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: true, cancellationToken: ct)
        : c.AppsV1.ListNamespacedDeploymentWithHttpMessagesAsync(ns, allowWatchBookmarks: true,
            resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: true, cancellationToken: ct));

    /// <summary>StatefulSets (targets of kind StatefulSet), trimmed like every other kind.</summary>
    public static ListWatch<V1StatefulSet> StatefulSets(IKubernetes c) => Typed<V1StatefulSet, V1StatefulSetList>(c, "apis/apps/v1", "statefulsets", null,
        (ns, q, ct) => ns is null
        ? c.AppsV1.ListStatefulSetForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: true,
            resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: true, cancellationToken: ct)
        : c.AppsV1.ListNamespacedStatefulSetWithHttpMessagesAsync(ns, allowWatchBookmarks: true,
            resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: true, cancellationToken: ct));

    public static ListWatch<V1Pod> Pods(IKubernetes c) => Typed<V1Pod, V1PodList>(c, "api/v1", "pods", null,
        (ns, q, ct) => ns is null
        ? c.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: true,
            resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: true, cancellationToken: ct)
        : c.CoreV1.ListNamespacedPodWithHttpMessagesAsync(ns, allowWatchBookmarks: true,
            resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: true, cancellationToken: ct));

    public static ListWatch<V1Service> Services(IKubernetes c) => Typed<V1Service, V1ServiceList>(c, "api/v1", "services", null,
        (ns, q, ct) => ns is null
        ? c.CoreV1.ListServiceForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: true,
            resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: true, cancellationToken: ct)
        : c.CoreV1.ListNamespacedServiceWithHttpMessagesAsync(ns, allowWatchBookmarks: true,
            resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: true, cancellationToken: ct));

    public static ListWatch<V1HorizontalPodAutoscaler> Hpas(IKubernetes c) =>
        Typed<V1HorizontalPodAutoscaler, V1HorizontalPodAutoscalerList>(c, "apis/autoscaling/v1", "horizontalpodautoscalers", null,
        (ns, q, ct) => ns is null
        ? c.AutoscalingV1.ListHorizontalPodAutoscalerForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: true,
            resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: true, cancellationToken: ct)
        : c.AutoscalingV1.ListNamespacedHorizontalPodAutoscalerWithHttpMessagesAsync(ns, allowWatchBookmarks: true,
            resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: true, cancellationToken: ct));

    /// <summary>The query of one watch (from a resourceVersion, with bookmarks and a server-side timeout), in the client's typed call for the kind.</summary>
    private sealed record Query(string ResourceVersion, int Timeout);

    /// <summary>
    /// A built-in kind: listed as a stream from its path (<c>PREFIX[/namespaces/NS]/PLURAL</c>),
    /// watched through the client's one typed list call for it.
    /// </summary>
    private static ListWatch<T> Typed<T, TList>(IKubernetes c, string prefix, string plural, string? labelSelector,
        Func<string?, Query, CancellationToken, Task<HttpOperationResponse<TList>>> call)
        where T : class, IKubernetesObject<V1ObjectMeta> => Make<T>(c, prefix, plural, labelSelector,
        (ns, rv, timeout, ct) => Watch<T, TList>(call(ns, new Query(rv, timeout), ct), ct));

    private static ListWatch<T> Custom<T>(IKubernetes c, string group, string version, string plural, string? labelSelector = null)
        where T : class, IKubernetesObject<V1ObjectMeta> => Make<T>(c, $"apis/{group}/{version}", plural, labelSelector,
        (ns, rv, timeout, ct) => Watch<T, object>(ns is null
            ? c.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync(group, version, plural,
                labelSelector: labelSelector, watch: true, resourceVersion: rv, allowWatchBookmarks: true,
                timeoutSeconds: timeout, cancellationToken: ct)
            : c.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync(group, version, ns, plural,
                labelSelector: labelSelector, watch: true, resourceVersion: rv, allowWatchBookmarks: true,
                timeoutSeconds: timeout, cancellationToken: ct), ct));

    /// <summary>
    /// Every kind goes through here: its LIST is read as a stream (<see cref="StreamingList"/>),
    /// each item trimmed as it is decoded, and list errors reach the informer in the ListWatch
    /// contract's terms: an expired continue token is a <see cref="WatchExpiredException"/>.
    /// </summary>
    private static ListWatch<T> Make<T>(IKubernetes c, string prefix, string plural, string? labelSelector,
        Func<string?, string, int, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch)
        where T : class, IKubernetesObject<V1ObjectMeta> => new(
        async (ns, query, ct) =>
        {
            try
            {
                var path = ns is null ? $"{prefix}/{plural}" : $"{prefix}/namespaces/{Uri.EscapeDataString(ns)}/{plural}";
                return await StreamingList.GetAsync<T>(c, path, labelSelector, query, CacheTransform.Apply, TrimmedDecoding.Options, ct);
            }
            catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Gone)
            {
                throw WatchErrorException.From(ex);
            }
        },
        (ns, rv, timeout, ct) => Trimmed(watch(ns, rv, timeout, ct), ct));

    private static async IAsyncEnumerable<(WatchEventType, T)> Trimmed<T>(IAsyncEnumerable<(WatchEventType, T)> events,
        [EnumeratorCancellation] CancellationToken ct)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        await foreach (var (type, obj) in events.WithCancellation(ct))
            yield return (type, obj is null ? obj! : CacheTransform.Apply(obj));
    }

    /// <summary>
    /// One watch stream, typed kinds and custom objects alike. A watch that ends with no line at all
    /// (a quiet one at its timeout) ends cleanly. The client reports an ERROR event
    /// (a v1.Status: 410 Gone, or any other failure) only through its error callback and then ends
    /// the stream as if it had closed cleanly; without the callback the informer would re-watch the
    /// same expired resourceVersion forever. The first error ends the stream and is thrown as a
    /// <see cref="WatchErrorException"/> (<see cref="WatchExpiredException"/> for 410), after the
    /// events that came before it; an error response to the watch request itself is thrown the same way.
    /// </summary>
    internal static IAsyncEnumerable<(WatchEventType, T)> Watch<T, TResponse>(Task<HttpOperationResponse<TResponse>> response, CancellationToken ct) =>
        Watch<T>(onError => response.WatchAsync<T, TResponse>(onError, ct), ct);

    internal static async IAsyncEnumerable<(WatchEventType, T)> Watch<T>(
        Func<Action<Exception>, IAsyncEnumerable<(WatchEventType, T)>> open, [EnumeratorCancellation] CancellationToken ct)
    {
        Exception? error = null;
        await using var events = open(ex => error ??= ex).GetAsyncEnumerator(ct);
        while (true)
        {
            bool more;
            try
            {
                more = await events.MoveNextAsync();
            }
            catch (Exception ex) when (ex is HttpOperationException or KubernetesException)
            {
                throw WatchErrorException.From(ex);
            }
            catch (HttpRequestException ex) when (ex.InnerException is EndOfStreamException)
            {
                // The client holds a watch's response until its first line; a watch the API server
                // ends at its timeout without sending one (no event, no bookmark) surfaces as this.
                // It is a quiet watch that ran its course, not a failure.
                more = false;
            }
            if (error is not null) throw WatchErrorException.From(error);
            if (!more) yield break;
            yield return events.Current;
        }
    }
}
