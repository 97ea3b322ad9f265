using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ResilienceOperator.Runtime;

/// <summary>Something that fills a cache and says when it has.</summary>
internal interface IInformer
{
    string Name { get; }
    bool HasSynced { get; }
    Task RunAsync(CancellationToken ct);
    /// <summary>Raises an Update for every cached object, as a safety net for missed events.</summary>
    void Resync();
}

/// <summary>
/// List, then watch from the list's resourceVersion with bookmarks and a client-side timeout;
/// when the stream ends, watch again from the last resourceVersion seen; on any error (410 Gone
/// among them) relist. Watches die silently, so a watch is never trusted to run forever.
/// </summary>
internal sealed class Informer<T>(
    string name,
    ListWatch<T> listWatch,
    IReadOnlyList<string?> namespaces,
    ILogger logger,
    TimeSpan? watchTimeout = null) : IInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly TimeSpan _watchTimeout = watchTimeout ?? TimeSpan.FromMinutes(5);
    private int _synced;

    public string Name { get; } = name;
    public Store<T> Store { get; } = new();
    public bool HasSynced => Volatile.Read(ref _synced) >= namespaces.Count;

    public event Action<T>? Added;
    public event Action<T, T>? Updated;
    public event Action<T>? Deleted;

    /// <summary>Counts list calls, for the API-calls benchmark.</summary>
    public int ListCalls;

    public Task RunAsync(CancellationToken ct) => Task.WhenAll(namespaces.Select(ns => RunNamespaceAsync(ns, ct)));

    public void Resync()
    {
        foreach (var obj in Store.List()) Updated?.Invoke(obj, obj);
    }

    private async Task RunNamespaceAsync(string? ns, CancellationToken ct)
    {
        var backoff = TimeSpan.FromMilliseconds(200);
        var firstSync = true;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var rv = await ListAsync(ns, ct);
                if (firstSync) { Interlocked.Increment(ref _synced); firstSync = false; }
                backoff = TimeSpan.FromMilliseconds(200);
                // Watch until an error: a stream that ends cleanly (the server's or our timeout) resumes
                // from the last resourceVersion without relisting.
                while (!ct.IsCancellationRequested)
                {
                    rv = await WatchAsync(ns, rv, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                var gone = ex is HttpOperationException { Response.StatusCode: System.Net.HttpStatusCode.Gone }
                    || ex.Message.Contains("410", StringComparison.Ordinal) || ex.Message.Contains("too old", StringComparison.OrdinalIgnoreCase);
                if (gone) logger.LogInformation("{Informer} ({Namespace}): resourceVersion expired, relisting", Name, ns ?? "*");
                else logger.LogWarning("{Informer} ({Namespace}): watch failed, relisting in {Backoff}: {Error}", Name, ns ?? "*", backoff, ex.Message);
                if (!gone)
                {
                    try { await Task.Delay(backoff, ct); } catch (OperationCanceledException) { return; }
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                }
            }
        }
    }

    private async Task<string> ListAsync(string? ns, CancellationToken ct)
    {
        Interlocked.Increment(ref ListCalls);
        var page = await listWatch.List(ns, null, null, ct);
        var (items, rv) = (page.Items, page.ResourceVersion);
        var seen = new HashSet<ObjectKey>();
        foreach (var item in items)
        {
            seen.Add(ObjectKey.Of(item));
            Apply(WatchEventType.Modified, item);
        }
        // Objects deleted while we were not watching.
        foreach (var key in Store.Keys(k => (ns is null || k.Namespace == ns) && !seen.Contains(k)))
        {
            var old = Store.Remove(key);
            if (old is not null) Deleted?.Invoke(old);
        }
        return rv;
    }

    private async Task<string> WatchAsync(string? ns, string rv, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // Client-side bound a little past the server-side timeout: a half-dead connection cannot hang us.
        timeout.CancelAfter(_watchTimeout + TimeSpan.FromSeconds(30));
        try
        {
            await foreach (var (type, obj) in listWatch.Watch(ns, rv, (int)_watchTimeout.TotalSeconds, timeout.Token))
            {
                if (type == WatchEventType.Error) throw new InvalidOperationException("watch error event (410 Gone or similar)");
                var objRv = obj?.Metadata?.ResourceVersion;
                if (!string.IsNullOrEmpty(objRv)) rv = objRv;
                if (type == WatchEventType.Bookmark || obj is null) continue;
                Apply(type, obj);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // our own client-side timeout: resume from rv
        }
        return rv;
    }

    private void Apply(WatchEventType type, T obj)
    {
        if (type == WatchEventType.Deleted)
        {
            var old = Store.Remove(ObjectKey.Of(obj));
            Deleted?.Invoke(old ?? obj);
            return;
        }
        var previous = Store.Get(ObjectKey.Of(obj));
        if (previous is not null && previous.Metadata.ResourceVersion == obj.Metadata.ResourceVersion) return;
        // The store may already hold a newer version, put there by the reconciler's own write.
        if (previous is not null && Store<T>.IsOlder(obj, previous)) return;
        Store.Upsert(obj);
        if (previous is null) Added?.Invoke(obj);
        else Updated?.Invoke(previous, obj);
    }
}
