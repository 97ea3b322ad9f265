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
    public static ListWatch<ResiliencePolicy> Policies(IKubernetes c, string? labelSelector = null) => Custom<ResiliencePolicy, ResiliencePolicyList>(c,
        GroupVersion.Group, GroupVersion.Version, ResiliencePolicy.KubePluralName, l => (l.Items, l.Metadata),
        string.IsNullOrEmpty(labelSelector) ? null : labelSelector);

    public static ListWatch<PodDisruptionBudgetObject> Pdbs(IKubernetes c, string groupVersion) =>
        Custom<PodDisruptionBudgetObject, PodDisruptionBudgetList>(c, "policy", groupVersion.Split('/')[1], "poddisruptionbudgets",
            l => (l.Items, l.Metadata), Labels.Policy);

    public static ListWatch<ResilienceBackup> Backups(IKubernetes c) => Custom<ResilienceBackup, ResilienceBackupList>(c,
        GroupVersion.Group, GroupVersion.Version, ResilienceBackup.KubePluralName, l => (l.Items, l.Metadata));

    public static ListWatch<ResilienceRestore> Restores(IKubernetes c) => Custom<ResilienceRestore, ResilienceRestoreList>(c,
        GroupVersion.Group, GroupVersion.Version, ResilienceRestore.KubePluralName, l => (l.Items, l.Metadata));

    public static ListWatch<ResilienceDrill> Drills(IKubernetes c) => Custom<ResilienceDrill, ResilienceDrillList>(c,
        GroupVersion.Group, GroupVersion.Version, ResilienceDrill.KubePluralName, l => (l.Items, l.Metadata));

    /// <summary>KEDA ScaledObjects (only when the API server serves keda.sh/v1alpha1).</summary>
    public static ListWatch<ScaledObject> ScaledObjects(IKubernetes c) => Custom<ScaledObject, ScaledObjectList>(c,
        ScaledObject.Group, ScaledObject.Version, ScaledObject.Plural, l => (l.Items, l.Metadata));

    /// <summary>Only the operator's own Jobs (backup and restore attempts, failover hooks), by their policy label.</summary>
    public static ListWatch<V1Job> Jobs(IKubernetes c) => Typed<V1Job, V1JobList>((ns, q, ct) => ns is null
        ? c.BatchV1.ListJobForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: q.Bookmarks, continueParameter: q.Continue, labelSelector: Labels.Policy,
            limit: q.Limit, resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: q.Watch, cancellationToken: ct)
        : c.BatchV1.ListNamespacedJobWithHttpMessagesAsync(ns, allowWatchBookmarks: q.Bookmarks, continueParameter: q.Continue, labelSelector: Labels.Policy,
            limit: q.Limit, resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: q.Watch, cancellationToken: ct));

    public static ListWatch<V1Deployment> Deployments(IKubernetes c) => Typed<V1Deployment, V1DeploymentList>((ns, q, ct) => ns is null
        ? c.AppsV1.ListDeploymentForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: q.Bookmarks, continueParameter: q.Continue,
            limit: q.Limit, resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: q.Watch, cancellationToken: ct)
        : c.AppsV1.ListNamespacedDeploymentWithHttpMessagesAsync(ns, allowWatchBookmarks: q.Bookmarks, continueParameter: q.Continue,
            limit: q.Limit, resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: q.Watch, cancellationToken: ct));

    /// <summary>StatefulSets (targets of kind StatefulSet), trimmed like every other kind.</summary>
    public static ListWatch<V1StatefulSet> StatefulSets(IKubernetes c) => Typed<V1StatefulSet, V1StatefulSetList>((ns, q, ct) => ns is null
        ? c.AppsV1.ListStatefulSetForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: q.Bookmarks, continueParameter: q.Continue,
            limit: q.Limit, resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: q.Watch, cancellationToken: ct)
        : c.AppsV1.ListNamespacedStatefulSetWithHttpMessagesAsync(ns, allowWatchBookmarks: q.Bookmarks, continueParameter: q.Continue,
            limit: q.Limit, resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: q.Watch, cancellationToken: ct));

    public static ListWatch<V1Pod> Pods(IKubernetes c) => Typed<V1Pod, V1PodList>((ns, q, ct) => ns is null
        ? c.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: q.Bookmarks, continueParameter: q.Continue,
            limit: q.Limit, resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: q.Watch, cancellationToken: ct)
        : c.CoreV1.ListNamespacedPodWithHttpMessagesAsync(ns, allowWatchBookmarks: q.Bookmarks, continueParameter: q.Continue,
            limit: q.Limit, resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: q.Watch, cancellationToken: ct));

    public static ListWatch<V1Service> Services(IKubernetes c) => Typed<V1Service, V1ServiceList>((ns, q, ct) => ns is null
        ? c.CoreV1.ListServiceForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: q.Bookmarks, continueParameter: q.Continue,
            limit: q.Limit, resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: q.Watch, cancellationToken: ct)
        : c.CoreV1.ListNamespacedServiceWithHttpMessagesAsync(ns, allowWatchBookmarks: q.Bookmarks, continueParameter: q.Continue,
            limit: q.Limit, resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: q.Watch, cancellationToken: ct));

    public static ListWatch<V1HorizontalPodAutoscaler> Hpas(IKubernetes c) =>
        Typed<V1HorizontalPodAutoscaler, V1HorizontalPodAutoscalerList>((ns, q, ct) => ns is null
        ? c.AutoscalingV1.ListHorizontalPodAutoscalerForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: q.Bookmarks, continueParameter: q.Continue,
            limit: q.Limit, resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: q.Watch, cancellationToken: ct)
        : c.AutoscalingV1.ListNamespacedHorizontalPodAutoscalerWithHttpMessagesAsync(ns, allowWatchBookmarks: q.Bookmarks, continueParameter: q.Continue,
            limit: q.Limit, resourceVersion: q.ResourceVersion, timeoutSeconds: q.Timeout, watch: q.Watch, cancellationToken: ct));

    /// <summary>The query of one LIST page (watch null) or one watch (from a resourceVersion, with bookmarks and a timeout).</summary>
    private sealed record Query(bool? Watch, bool? Bookmarks, string? ResourceVersion, int? Limit, string? Continue, int? Timeout);

    /// <summary>A built-in kind, listed and watched through the client's one typed list call for it.</summary>
    private static ListWatch<T> Typed<T, TList>(Func<string?, Query, CancellationToken, Task<HttpOperationResponse<TList>>> call)
        where T : IKubernetesObject<V1ObjectMeta>
        where TList : IItems<T>, IMetadata<V1ListMeta> => Make<T>(
        async (ns, limit, cont, ct) =>
        {
            using var response = await call(ns, new Query(null, null, null, limit, cont, null), ct);
            return Page(response.Body.Items, response.Body.Metadata);
        },
        (ns, rv, timeout, ct) => Watch<T, TList>(call(ns, new Query(true, true, rv, null, null, timeout), ct), ct));

    private static ListWatch<T> Custom<T, TList>(IKubernetes c, string group, string version, string plural,
        Func<TList, (IList<T> Items, V1ListMeta Metadata)> unpack, string? labelSelector = null)
        where T : IKubernetesObject<V1ObjectMeta> => Make<T>(
        async (ns, limit, cont, ct) =>
        {
            var body = ns is null
                ? await c.CustomObjects.ListClusterCustomObjectAsync(group, version, plural,
                    labelSelector: labelSelector, limit: limit, continueParameter: cont, cancellationToken: ct)
                : await c.CustomObjects.ListNamespacedCustomObjectAsync(group, version, ns, plural,
                    labelSelector: labelSelector, limit: limit, continueParameter: cont, cancellationToken: ct);
            var (items, meta) = unpack(KubernetesJson.Deserialize<TList>((JsonElement)body));
            return Page(items, meta);
        },
        (ns, rv, timeout, ct) => Watch<T, object>(ns is null
            ? c.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync(group, version, plural,
                labelSelector: labelSelector, watch: true, resourceVersion: rv, allowWatchBookmarks: true,
                timeoutSeconds: timeout, cancellationToken: ct)
            : c.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync(group, version, ns, plural,
                labelSelector: labelSelector, watch: true, resourceVersion: rv, allowWatchBookmarks: true,
                timeoutSeconds: timeout, cancellationToken: ct), ct));

    private static ListPage<T> Page<T>(IList<T>? items, V1ListMeta? meta) =>
        new(items ?? [], meta?.ResourceVersion ?? "", string.IsNullOrEmpty(meta?.ContinueProperty) ? null : meta.ContinueProperty);

    /// <summary>
    /// Every kind goes through here so that list errors reach the informer in the ListWatch
    /// contract's terms: an expired continue token is a <see cref="WatchExpiredException"/>.
    /// </summary>
    private static ListWatch<T> Make<T>(Func<string?, int?, string?, CancellationToken, Task<ListPage<T>>> list,
        Func<string?, string, int, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch)
        where T : IKubernetesObject<V1ObjectMeta> => new(
        async (ns, limit, cont, ct) =>
        {
            try
            {
                var page = await list(ns, limit, cont, ct);
                foreach (var item in page.Items) CacheTransform.Apply(item);
                return page;
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
