namespace ResilienceOperator.Runtime;

/// <summary>
/// A filter on one watch's events before they become keys (controller-runtime's
/// <c>predicate.Funcs</c>): an event passes when the function for its kind says so; a missing
/// function lets every event of that kind through.
/// </summary>
internal sealed record EventPredicate<T>(Func<T, bool>? Create = null, Func<T, T, bool>? Update = null, Func<T, bool>? Delete = null)
{
    public bool OnCreate(T obj) => Create?.Invoke(obj) ?? true;
    public bool OnUpdate(T old, T @new) => Update?.Invoke(old, @new) ?? true;
    public bool OnDelete(T obj) => Delete?.Invoke(obj) ?? true;
}

/// <summary>The predicates controllers filter their watches with.</summary>
internal static class Predicates
{
    /// <summary>
    /// Updates that change metadata.generation, i.e. the spec (status-only churn does not pass);
    /// creates and deletes pass.
    /// </summary>
    public static EventPredicate<T> GenerationChanged<T>() where T : k8s.IKubernetesObject<k8s.Models.V1ObjectMeta> =>
        new(Update: (o, n) => o.Metadata.Generation != n.Metadata.Generation);

    /// <summary>
    /// Updates that carry a new version of the object: the informer's periodic resync, which
    /// re-announces every cached object unchanged, does not pass; creates and deletes pass.
    /// </summary>
    public static EventPredicate<T> ResourceVersionChanged<T>() where T : k8s.IKubernetesObject<k8s.Models.V1ObjectMeta> =>
        new(Update: (o, n) => !ReferenceEquals(o, n) && o.Metadata.ResourceVersion != n.Metadata.ResourceVersion);

    /// <summary>
    /// Updates that change anything but the status: the spec (generation), labels, annotations,
    /// finalizers or the deletion mark. A controller that writes the object's status skips the
    /// event of its own write with it, as it would loop on a status that never compares equal.
    /// </summary>
    public static EventPredicate<T> StatusOnlyIgnored<T>() where T : k8s.IKubernetesObject<k8s.Models.V1ObjectMeta> =>
        new(Update: (o, n) => o.Metadata.Generation != n.Metadata.Generation
            || o.Metadata.DeletionTimestamp != n.Metadata.DeletionTimestamp
            || !Same(o.Metadata.Annotations, n.Metadata.Annotations)
            || !Same(o.Metadata.Labels, n.Metadata.Labels)
            || !(o.Metadata.Finalizers ?? []).SequenceEqual(n.Metadata.Finalizers ?? []));

    private static bool Same(IDictionary<string, string>? a, IDictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0)
        && (a ?? new Dictionary<string, string>()).All(kv => b is not null && b.TryGetValue(kv.Key, out var v) && v == kv.Value);

    /// <summary>Only the informer's periodic resync (see <see cref="IInformer.Resync"/>): the same object as old and new.</summary>
    public static EventPredicate<T> Resync<T>() where T : class =>
        new(Create: _ => false, Update: ReferenceEquals, Delete: _ => false);

    /// <summary>Updates and deletes; creates do not pass.</summary>
    public static EventPredicate<T> NotCreated<T>() => new(Create: _ => false);

    /// <summary>Creates only (an object that comes into the cache).</summary>
    public static EventPredicate<T> CreatedOnly<T>() => new(Update: (_, _) => false, Delete: _ => false);

    /// <summary>Creates and updates; deletes do not pass.</summary>
    public static EventPredicate<T> NotDeleted<T>() => new(Delete: _ => false);

    /// <summary>Passes what any of <paramref name="predicates"/> passes.</summary>
    public static EventPredicate<T> Or<T>(params EventPredicate<T>[] predicates) => new(
        o => predicates.Any(p => p.OnCreate(o)),
        (o, n) => predicates.Any(p => p.OnUpdate(o, n)),
        o => predicates.Any(p => p.OnDelete(o)));
}
