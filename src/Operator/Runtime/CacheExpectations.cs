using System.Collections.Concurrent;
using k8s;
using k8s.Models;

namespace ResilienceOperator.Runtime;

/// <summary>
/// Read-your-writes over a read-only cache. A reconciler records, under the key it reconciles,
/// each object it wrote with the resourceVersion the API server answered; the next reconcile of
/// that key acts only once the informers' caches hold that version (or a newer one), so it never
/// decides on the state from before its own write. The write's watch event requeues the key when
/// it arrives. The idea of controller-runtime's cache reads and of client-go's
/// ControllerExpectations; like those, an expectation that is never met expires (an object
/// created and deleted before the informer listed it), and the resourceVersion preconditions on
/// writes still turn any decision on stale state into a 409.
/// </summary>
internal sealed class CacheExpectations(TimeProvider time, TimeSpan? timeout = null)
{
    /// <summary>How long a write is waited for before the cache is trusted as it is.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When a reconcile that found the cache behind runs again at the latest. The write's watch
    /// event usually requeues it within milliseconds; this is the safety net for a lost one.
    /// </summary>
    public static readonly TimeSpan Recheck = TimeSpan.FromSeconds(1);

    private readonly TimeSpan _timeout = timeout ?? DefaultTimeout;
    private readonly ConcurrentDictionary<ObjectKey, List<Expectation>> _pending = new();

    private sealed record Expectation(string What, Func<bool> Seen, DateTimeOffset Expires);

    /// <summary>
    /// <paramref name="written"/> (as the API server answered the write) must be in <paramref name="store"/>
    /// before <paramref name="key"/> is reconciled again. An object written by <paramref name="created"/>
    /// must appear; an updated one that has left the cache counts as seen (it was deleted since).
    /// </summary>
    public void Expect<T>(ObjectKey key, Store<T> store, T written, bool created = false) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var objectKey = ObjectKey.Of(written);
        var version = written.Metadata.ResourceVersion;
        var what = $"{written.Kind ?? typeof(T).Name} {objectKey}@{version}";
        // Only the key and the version are kept: an expectation outlives its reconcile (until the
        // key is reconciled again), and a whole written object held that long is a second copy of it.
        bool Seen() => store.Get(objectKey) is { } cached ? !Store<T>.IsOlder(cached.Metadata.ResourceVersion, version) : !created;
        var list = _pending.GetOrAdd(key, _ => []);
        lock (list) list.Add(new Expectation(what, Seen, time.GetUtcNow() + _timeout));
    }

    /// <summary>
    /// Whether the caches show every write recorded under <paramref name="key"/> (expired ones
    /// included); null when they do, else what is still awaited.
    /// </summary>
    public string? Awaited(ObjectKey key)
    {
        if (!_pending.TryGetValue(key, out var list)) return null;
        var now = time.GetUtcNow();
        lock (list)
        {
            list.RemoveAll(e => e.Expires <= now || e.Seen());
            return list.Count > 0 ? list[0].What : null;
        }
    }

    /// <summary>
    /// Ends the reconcile with a requeue after <see cref="Recheck"/> while the caches do not show every
    /// write recorded under <paramref name="key"/>: deciding now would act on the state before them.
    /// </summary>
    public void ThrowIfAwaited(ObjectKey key)
    {
        if (Awaited(key) is { } awaited) throw new RequeueException($"waiting for the cache to show {awaited}", Recheck);
    }

    /// <summary>Whether the caches show every write recorded under <paramref name="key"/>.</summary>
    public bool Satisfied(ObjectKey key) => Awaited(key) is null;

    /// <summary>The key's object is gone: nothing of it is awaited any more.</summary>
    public void Forget(ObjectKey key) => _pending.TryRemove(key, out _);

    /// <summary>A new leadership term starts from the caches as they are.</summary>
    public void Clear() => _pending.Clear();
}
