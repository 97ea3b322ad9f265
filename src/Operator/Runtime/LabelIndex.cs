using k8s;
using k8s.Models;

namespace ResilienceOperator.Runtime;

/// <summary>
/// An index of cached objects by each of their labels (<c>namespace/key=value</c>): the objects a
/// label selector matches are found from the selector's rarest pair instead of by scanning every
/// object of the namespace. With thousands of services in a namespace a health check then reads
/// the few pods of its target, not all of them.
/// </summary>
internal static class LabelIndex
{
    public const string Name = "labels";

    /// <summary>
    /// Labels that differ per revision or per pod: no workload selects its pods by them, and they
    /// would add one bucket per revision or pod to the index.
    /// </summary>
    private static readonly HashSet<string> Unindexed = new(StringComparer.Ordinal)
    {
        "pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
    };

    /// <summary>Adds the index to a store; call before its informer starts.</summary>
    public static void AddTo<T>(Store<T> store) where T : class, IKubernetesObject<V1ObjectMeta> =>
        store.AddIndex(Name, Values);

    public static IEnumerable<string> Values(IKubernetesObject<V1ObjectMeta> o)
    {
        if (o.Metadata.Labels is not { Count: > 0 } labels) yield break;
        var ns = o.Metadata.NamespaceProperty ?? "";
        foreach (var (key, value) in labels)
            if (!Unindexed.Contains(key)) yield return Value(ns, key, value);
    }

    private static string Value(string ns, string key, string value) => ns + "/" + key + "=" + value;

    /// <summary>
    /// The objects of a namespace whose labels hold every pair of the selector. An empty selector
    /// matches nothing (a workload always selects by at least one label).
    /// </summary>
    public static IReadOnlyList<T> Matching<T>(Store<T> store, string ns, IDictionary<string, string> selector)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        if (selector.Count == 0) return [];
        string? rarest = null;
        var fewest = int.MaxValue;
        foreach (var (key, value) in selector)
        {
            if (Unindexed.Contains(key)) continue;
            var v = Value(ns, key, value);
            var n = store.CountByIndex(Name, v);
            if (n == 0) return [];
            if (n < fewest) (rarest, fewest) = (v, n);
        }
        var candidates = rarest is null ? store.ByIndex(Store<T>.NamespaceIndex, ns) : store.ByIndex(Name, rarest);
        return [.. candidates.Where(o => Matches(selector, o.Metadata.Labels))];
    }

    public static bool Matches(IDictionary<string, string> selector, IDictionary<string, string>? labels) =>
        labels is not null && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
