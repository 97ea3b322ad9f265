using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Prometheus;

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
/// List (in pages), then watch from the list's resourceVersion with bookmarks and a client-side
/// timeout. Watches die silently and API servers push back, so no watch is trusted to run forever
/// and no failure is retried at once:
/// <list type="bullet">
/// <item>a stream that ends cleanly after delivering events resumes from the last resourceVersion;</item>
/// <item>410 Gone (the resourceVersion was compacted away) relists after a small jitter;</item>
/// <item>any other error backs off (exponential with jitter, capped) and then resumes watching
/// from the last resourceVersion, without a LIST: the cache is still consistent up to it;</item>
/// <item>a stream that ends within a second with no events backs off too: it is an API server or
/// proxy refusing the watch, and re-opening it at once would be a tight loop;</item>
/// <item>the first watch after a failed one asks the server to end it after
/// <see cref="RecoveryWatch"/> instead of the usual timeout: an API server that is starting up can
/// accept a watch, send its headers and never serve it (seen after a restart: no event, no error,
/// while every other watch got its 410), and a quiet watch cannot be told from a dead one. Ending
/// it soon and resuming from the same resourceVersion gets the real answer within seconds instead
/// of after the full timeout.</item>
/// </list>
/// The backoff only resets once a watch has proven healthy (events, or a long enough run), not
/// after each LIST, so a server that lists fine but fails every watch is not hammered.
/// </summary>
internal sealed class Informer<T>(
    string name,
    ListWatch<T> listWatch,
    IReadOnlyList<string?> namespaces,
    ILogger logger,
    TimeSpan? watchTimeout = null,
    TimeProvider? timeProvider = null,
    ApiServerReachability? reachability = null) : IInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>Page size of a LIST: large caches are listed without one huge response.</summary>
    public const int PageSize = 500;
    internal static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(200);
    internal static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    /// <summary>A watch ending sooner than this with no events is suspect.</summary>
    internal static readonly TimeSpan ShortWatch = TimeSpan.FromSeconds(1);
    /// <summary>A watch that ran this long (or delivered events) was healthy: the backoff resets.</summary>
    internal static readonly TimeSpan HealthyWatch = TimeSpan.FromSeconds(30);
    /// <summary>Server-side timeout of the first watch after a failed one (see the class summary).</summary>
    internal static readonly TimeSpan RecoveryWatch = TimeSpan.FromSeconds(20);
    /// <summary>Upper bound of the jitter before a relist after 410, so that informers do not relist in lockstep.</summary>
    internal static readonly TimeSpan ExpiredJitter = TimeSpan.FromMilliseconds(100);

    private static readonly Counter WatchErrors = Metrics.CreateCounter("resilience_informer_watch_errors_total",
        "Watches that ended badly, by informer and reason: expired (410, relist), error (backoff, then resume), short (ended at once with no events, backoff).",
        "informer", "reason");

    private readonly TimeSpan _watchTimeout = watchTimeout ?? TimeSpan.FromMinutes(5);
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private int _synced;

    public string Name { get; } = name;
    public Store<T> Store { get; } = new();
    public bool HasSynced => Volatile.Read(ref _synced) >= namespaces.Count;

    public event Action<T>? Added;
    public event Action<T, T>? Updated;
    public event Action<T>? Deleted;

    /// <summary>Counts LIST requests (one per page), for the API-calls benchmark.</summary>
    public int ListCalls;

    /// <summary>Counts watches opened, for the API-calls benchmark and the chaos tests.</summary>
    public int WatchCalls;

    public Task RunAsync(CancellationToken ct) => Task.WhenAll(namespaces.Select(ns => RunNamespaceAsync(ns, ct)));

    public void Resync()
    {
        foreach (var obj in Store.List()) Updated?.Invoke(obj, obj);
    }

    /// <summary>Where one namespace's watch stands; updated event by event so that an error mid-stream keeps what came before it.</summary>
    private sealed class Cursor
    {
        public string? ResourceVersion;
        public int Events;
    }

    private async Task RunNamespaceAsync(string? ns, CancellationToken ct)
    {
        var backoff = new Backoff(InitialBackoff, MaxBackoff);
        var cursor = new Cursor();
        var firstSync = true;
        var justListed = false;
        var recovering = false;
        var where = ns ?? "*";
        while (!ct.IsCancellationRequested)
        {
            long? started = null;
            try
            {
                if (cursor.ResourceVersion is null)
                {
                    cursor.ResourceVersion = await ListAsync(ns, firstSync, ct);
                    reachability?.Answered();
                    justListed = true;
                    if (firstSync) { Interlocked.Increment(ref _synced); firstSync = false; }
                }
                cursor.Events = 0;
                var timeout = recovering && RecoveryWatch < _watchTimeout ? RecoveryWatch : _watchTimeout;
                recovering = false;
                started = _time.GetTimestamp();
                await WatchAsync(ns, cursor, timeout, ct);
                var ran = _time.GetElapsedTime(started.Value);
                if (cursor.Events > 0 || ran >= HealthyWatch) { backoff.Reset(); justListed = false; continue; }
                if (ran >= ShortWatch) continue; // a quiet stream that ran its course: resume from rv
                WatchErrors.WithLabels(Name, "short").Inc();
                var wait = backoff.Next();
                logger.LogWarning("{Informer} ({Namespace}): watch ended after {Ran} with no events, watching again in {Backoff}", Name, where, ran, wait);
                await WaitAsync(wait, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                var error = WatchErrorException.From(ex);
                if (started is { } s && (cursor.Events > 0 || _time.GetElapsedTime(s) >= HealthyWatch)) { backoff.Reset(); justListed = false; }
                TimeSpan wait;
                if (error is WatchExpiredException)
                {
                    reachability?.Answered(); // a 410 is an answer: the server serves this resource
                    WatchErrors.WithLabels(Name, "expired").Inc();
                    // Only a LIST can catch up. A watch that expires straight after a LIST, though, is
                    // not a compaction we slept through but a server in trouble: back off then.
                    wait = justListed ? backoff.Next() : TimeSpan.FromTicks(Random.Shared.NextInt64(ExpiredJitter.Ticks));
                    logger.LogInformation("{Informer} ({Namespace}): resourceVersion {ResourceVersion} expired, relisting in {Wait}",
                        Name, where, cursor.ResourceVersion, wait);
                    cursor.ResourceVersion = null;
                }
                else
                {
                    WatchErrors.WithLabels(Name, "error").Inc();
                    reachability?.Failed();
                    recovering = true;
                    wait = backoff.Next();
                    // The cache is consistent up to the last resourceVersion seen: resume from there,
                    // relisting only if that one turns out to have expired (or none is known yet).
                    logger.LogWarning("{Informer} ({Namespace}): {Operation} failed, retrying from resourceVersion {ResourceVersion} in {Wait}: {Error}",
                        Name, where, started is null ? "list" : "watch", cursor.ResourceVersion ?? "(relist)", wait, error.Message);
                }
                try { await WaitAsync(wait, ct); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>Waits out a backoff or jitter, cut short when the API server is known to answer again.</summary>
    private async Task WaitAsync(TimeSpan wait, CancellationToken ct)
    {
        if (reachability is null) { await Task.Delay(wait, _time, ct); return; }
        using var delay = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var answered = reachability.NextAnswer;
        await Task.WhenAny(Task.Delay(wait, _time, delay.Token), answered.WaitAsync(ct));
        await delay.CancelAsync();
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// A full LIST, then the cache made equal to it; returns its resourceVersion. The first list
    /// asks for resourceVersion 0, as client-go's reflector does: any recent state, which the API
    /// server serves from its watch cache without reading etcd, in one response (read as a stream,
    /// item by item). A relist (after 410) asks for the latest state instead, page by page from
    /// etcd: this cache has already seen newer objects than a lagging watch cache might hold, and
    /// must not go back in time. A continue token can expire between pages (410): the list then
    /// starts again as one unpaginated request, which cannot expire half-way (client-go's pager
    /// does the same).
    /// </summary>
    private async Task<string> ListAsync(string? ns, bool first, CancellationToken ct)
    {
        var items = new List<T>();
        var query = new ListQuery(PageSize, null, first ? "0" : null);
        string rv;
        while (true)
        {
            Interlocked.Increment(ref ListCalls);
            ListPage<T> page;
            try
            {
                page = await listWatch.List(ns, query, ct);
            }
            catch (Exception ex) when (query.Continue is not null && WatchErrorException.From(ex) is WatchExpiredException)
            {
                logger.LogInformation("{Informer} ({Namespace}): list continue token expired, listing again in one request", Name, ns ?? "*");
                items.Clear();
                query = new ListQuery(null, null);
                continue;
            }
            items.AddRange(page.Items);
            rv = page.ResourceVersion;
            if (string.IsNullOrEmpty(page.Continue)) break;
            query = new ListQuery(query.Limit, page.Continue); // the token holds the resourceVersion
        }
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

    private async Task WatchAsync(string? ns, Cursor cursor, TimeSpan serverTimeout, CancellationToken ct)
    {
        // Client-side bound a little past the server-side timeout: a half-dead connection cannot hang us.
        var margin = serverTimeout < TimeSpan.FromSeconds(30) ? serverTimeout : TimeSpan.FromSeconds(30);
        using var timeout = new CancellationTokenSource(serverTimeout + margin, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        Interlocked.Increment(ref WatchCalls);
        try
        {
            await foreach (var (type, obj) in listWatch.Watch(ns, cursor.ResourceVersion!, (int)serverTimeout.TotalSeconds, linked.Token))
            {
                if (type == WatchEventType.Error) throw new WatchErrorException(null, null, "watch error event without a status");
                if (++cursor.Events == 1) reachability?.Answered();
                var objRv = obj?.Metadata?.ResourceVersion;
                if (type == WatchEventType.Bookmark || obj is null)
                {
                    if (!string.IsNullOrEmpty(objRv)) cursor.ResourceVersion = objRv;
                    continue;
                }
                Apply(type, obj);
                // Only once applied: an error in a handler must not skip the event on resume.
                if (!string.IsNullOrEmpty(objRv)) cursor.ResourceVersion = objRv;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            // our own client-side timeout: resume from the cursor
        }
        finally
        {
            // However the watch ended, its request goes with it (one abandoned on a timeout included).
            await linked.CancelAsync();
        }
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
        Store.Upsert(obj);
        if (previous is null) Added?.Invoke(obj);
        else Updated?.Invoke(previous, obj);
    }
}
