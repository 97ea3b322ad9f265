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
    private readonly Dictionary<string, Dictionary<string, HashSet<ObjectKey>>> _indexes = new(StringComparer.Ordinal);
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
            _indexes[name] = new Dictionary<string, HashSet<ObjectKey>>(StringComparer.Ordinal);
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
            foreach (var k in keys) if (_items.TryGetValue(k, out var v)) result.Add(v);
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
            {
                if (!idx.TryGetValue(value, out var set)) idx[value] = set = [];
                set.Add(key);
            }
        }
    }

    private void Unindex(ObjectKey key, T obj)
    {
        foreach (var (name, indexer) in _indexers)
        {
            var idx = _indexes[name];
            foreach (var value in indexer(obj))
            {
                if (idx.TryGetValue(value, out var set) && set.Remove(key) && set.Count == 0) idx.Remove(value);
            }
        }
    }
}
