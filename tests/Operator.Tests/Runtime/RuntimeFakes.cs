using System.Runtime.CompilerServices;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

/// <summary>
/// A fake clock that reports every short timer the code under test starts (backoffs, jitters), once
/// the timer is registered, so that a test can wait until the informer waits and then move the
/// clock by exactly that much — no real time passes. Timers of <paramref name="recordBelow"/> or more
/// (by default: longer than the informer's longest backoff, such as its client-side watch timeouts;
/// the controller tests pass 1 s to leave out the work queue's idle tick) are not reported.
/// </summary>
internal sealed class TimerRecordingTimeProvider(TimeSpan? recordBelow = null) : FakeTimeProvider(DateTimeOffset.UnixEpoch)
{
    private readonly TimeSpan _recordBelow = recordBelow ?? Informer<V1ConfigMap>.MaxBackoff + TimeSpan.FromSeconds(1);
    private readonly Channel<TimeSpan> _delays = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime != Timeout.InfiniteTimeSpan && dueTime < _recordBelow) _delays.Writer.TryWrite(dueTime);
        return timer;
    }

    /// <summary>The next delay the informer started waiting for.</summary>
    public async Task<TimeSpan> NextDelayAsync() => await _delays.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    /// <summary>Waits for the next delay and lets it pass; returns it.</summary>
    public async Task<TimeSpan> PassNextDelayAsync()
    {
        var d = await NextDelayAsync();
        Advance(d);
        return d;
    }

    public bool HasPendingDelay => _delays.Reader.TryPeek(out _);
}

/// <summary>
/// An in-memory API server for one resource type: the objects a LIST returns (in pages of the
/// requested limit) and, per watch opened, a script chosen by the test. With no script left, a watch
/// stays open and silent until cancelled, like a healthy idle watch.
/// </summary>
internal sealed class FakeListWatch
{
    private readonly Lock _lock = new();
    private readonly Queue<Func<string, CancellationToken, IAsyncEnumerable<(WatchEventType, V1ConfigMap)>>> _scripts = new();
    private readonly Channel<string> _watchOpened = Channel.CreateUnbounded<string>();
    private List<V1ConfigMap> _objects = [];
    private string _resourceVersion = "10";

    public List<ListQuery> Lists { get; } = [];
    public List<string> WatchResourceVersions { get; } = [];
    /// <summary>The server-side timeout each watch asked for, in order.</summary>
    public List<int> WatchTimeouts { get; } = [];
    /// <summary>When set, the next LIST carrying a continue token fails with 410, as after a compaction.</summary>
    public bool ExpireNextContinue { get; set; }

    public int ListCount { get { lock (_lock) return Lists.Count; } }
    public int WatchCount { get { lock (_lock) return WatchResourceVersions.Count; } }

    public ListWatch<V1ConfigMap> ListWatch => new(ListAsync, Watch);

    public void SetObjects(string resourceVersion, params V1ConfigMap[] objects)
    {
        lock (_lock) { _objects = [.. objects]; _resourceVersion = resourceVersion; }
    }

    public void Script(Func<string, CancellationToken, IAsyncEnumerable<(WatchEventType, V1ConfigMap)>> watch)
    {
        lock (_lock) _scripts.Enqueue(watch);
    }

    /// <summary>Waits for the next watch to be opened; returns the resourceVersion it starts from.</summary>
    public async Task<string> WatchOpenedAsync() => await _watchOpened.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public static V1ConfigMap Object(string name, string resourceVersion) =>
        new() { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "ns", ResourceVersion = resourceVersion } };

    private Task<ListPage<V1ConfigMap>> ListAsync(string? ns, ListQuery query, CancellationToken ct)
    {
        var (limit, cont) = (query.Limit, query.Continue);
        lock (_lock)
        {
            Lists.Add(query);
            if (cont is not null && ExpireNextContinue)
            {
                ExpireNextContinue = false;
                throw new WatchExpiredException(410, "Expired", "The provided continue parameter is too old");
            }
            var start = cont is null ? 0 : int.Parse(cont, System.Globalization.CultureInfo.InvariantCulture);
            var count = Math.Min(limit ?? int.MaxValue, _objects.Count - start);
            var next = start + count < _objects.Count ? (start + count).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
            return Task.FromResult(new ListPage<V1ConfigMap>(_objects.GetRange(start, count), _resourceVersion, next));
        }
    }

    private IAsyncEnumerable<(WatchEventType, V1ConfigMap)> Watch(string? ns, string rv, int timeoutSeconds, CancellationToken ct)
    {
        Func<string, CancellationToken, IAsyncEnumerable<(WatchEventType, V1ConfigMap)>>? script;
        lock (_lock)
        {
            WatchResourceVersions.Add(rv);
            WatchTimeouts.Add(timeoutSeconds);
            _scripts.TryDequeue(out script);
        }
        _watchOpened.Writer.TryWrite(rv);
        return (script ?? Idle)(rv, ct);
    }

    private static async IAsyncEnumerable<(WatchEventType, V1ConfigMap)> Idle(string rv, [EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Delay(Timeout.Infinite, ct);
        yield break;
    }
}
