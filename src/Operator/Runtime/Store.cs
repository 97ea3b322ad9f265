using System.Collections.Concurrent;
using k8s;
using k8s.Models;

namespace ResilienceOperator.Runtime;

/// <summary>
/// The informer's cache: objects by namespace/name plus secondary indexes. Read-only for
/// everyone but its informer: reconcilers never put objects into it (their own writes come back
/// through the watch; see <see cref="CacheExpectations"/> for reading them). Readers never mutate
/// what they get (the objects are shared); write paths build patches instead.
/// </summary>
internal sealed class Store<T> where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ConcurrentDictionary<ObjectKey, T> _items = new();
    private readonly Dictionary<string, Func<T, IEnumerable<string>>> _indexers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, KeySet>> _indexes = new(StringComparer.Ordinal);
    private readonly Lock _indexLock = new();

    public const string NamespaceIndex = "namespace";

    public Store() => AddIndex(NamespaceIndex, o => [o.Metadata.NamespaceProperty ?? ""]);

    public int Count => _items.Count;

    /// <summary>Adds an index; call before the informer starts.</summary>
    public void AddIndex(string name, Func<T, IEnumerable<string>> indexer)
    {
        lock (_indexLock)
        {
            _indexers[name] = indexer;
            _indexes[name] = new Dictionary<string, KeySet>(StringComparer.Ordinal);
        }
    }

    public T? Get(string ns, string name) => _items.TryGetValue(new ObjectKey(ns, name), out var v) ? v : null;

    public T? Get(ObjectKey key) => _items.TryGetValue(key, out var v) ? v : null;

    public IReadOnlyList<T> List() => [.. _items.Values];

    public IReadOnlyList<T> ByIndex(string index, string value)
    {
        lock (_indexLock)
        {
            if (!_indexes.TryGetValue(index, out var idx)) throw new InvalidOperationException($"no index {index}");
            if (!idx.TryGetValue(value, out var keys)) return [];
            var result = new List<T>(keys.Count);
            keys.CopyTo(_items, result);
            return result;
        }
    }

    /// <summary>How many objects an index holds under a value (0 when none).</summary>
    public int CountByIndex(string index, string value)
    {
        lock (_indexLock)
        {
            if (!_indexes.TryGetValue(index, out var idx)) throw new InvalidOperationException($"no index {index}");
            return idx.TryGetValue(value, out var keys) ? keys.Count : 0;
        }
    }

    /// <summary>resourceVersions are opaque but, from etcd, increasing integers; anything else never counts as older.</summary>
    internal static bool IsOlder(T candidate, T than) => IsOlder(candidate.Metadata.ResourceVersion, than.Metadata.ResourceVersion);

    /// <summary>The same, for two resourceVersions.</summary>
    internal static bool IsOlder(string? candidate, string? than) =>
        long.TryParse(candidate, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var a)
        && long.TryParse(than, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var b)
        && a < b;

    internal T? Upsert(T obj)
    {
        var key = ObjectKey.Of(obj);
        T? old;
        lock (_indexLock)
        {
            _items.TryGetValue(key, out old);
            if (old is not null) Unindex(key, old);
            _items[key] = obj;
            Index(key, obj);
        }
        return old;
    }

    internal T? Remove(ObjectKey key)
    {
        lock (_indexLock)
        {
            if (!_items.TryRemove(key, out var old)) return null;
            Unindex(key, old);
            return old;
        }
    }

    internal IReadOnlyCollection<ObjectKey> Keys(Func<ObjectKey, bool> filter) => [.. _items.Keys.Where(filter)];

    private void Index(ObjectKey key, T obj)
    {
        foreach (var (name, indexer) in _indexers)
        {
            var idx = _indexes[name];
            foreach (var value in indexer(obj))
                System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(idx, value, out _).Add(key);
        }
    }

    private void Unindex(ObjectKey key, T obj)
    {
        foreach (var (name, indexer) in _indexers)
        {
            var idx = _indexes[name];
            foreach (var value in indexer(obj))
            {
                ref var set = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(idx, value);
                if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref set) && set.Remove(key) && set.Count == 0) idx.Remove(value);
            }
        }
    }
}

/// <summary>
/// The keys under one index value. Most values hold one object (a policy's target, a workload's
/// pods' label), so the first key is kept inline and a set is made only for a second: a set per
/// value cost about 200 bytes, several per policy.
/// </summary>
internal struct KeySet
{
    private ObjectKey _one;
    private HashSet<ObjectKey>? _more;

    public readonly int Count => _more?.Count ?? (_one.Name is null ? 0 : 1);

    public void Add(ObjectKey key)
    {
        if (_more is not null) _more.Add(key);
        else if (_one.Name is null || _one == key) _one = key;
        else _more = [_one, key];
    }

    public bool Remove(ObjectKey key)
    {
        if (_more is not null) return _more.Remove(key);
        if (_one.Name is null || _one != key) return false;
        _one = default;
        return true;
    }

    /// <summary>The objects under these keys that <paramref name="items"/> holds, added to <paramref name="result"/>.</summary>
    public readonly void CopyTo<T>(ConcurrentDictionary<ObjectKey, T> items, List<T> result)
    {
        if (_more is not null)
        {
            foreach (var k in _more) if (items.TryGetValue(k, out var v)) result.Add(v);
        }
        else if (_one.Name is not null && items.TryGetValue(_one, out var v)) result.Add(v);
    }
}
