using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public sealed class InformerTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly TimerRecordingTimeProvider _time = new();
    private readonly FakeListWatch _api = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _deleted = [];
    private Informer<V1ConfigMap> _informer = null!;
    private Task _run = Task.CompletedTask;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(Bound);
        _stop.Dispose();
    }

    private readonly ApiServerReachability _reachability = new();

    private void Start()
    {
        _informer = new Informer<V1ConfigMap>("configmaps", _api.ListWatch, ["ns"], NullLogger.Instance, timeProvider: _time, reachability: _reachability);
        _informer.Deleted += o => { lock (_deleted) _deleted.Add(o.Metadata.Name); };
        _run = Task.Run(() => _informer.RunAsync(_stop.Token));
    }

    private static Func<string, CancellationToken, IAsyncEnumerable<(WatchEventType, V1ConfigMap)>> Stream(Exception? end, params (WatchEventType, V1ConfigMap)[] events) =>
        (_, _) => Events(end, events);

    private static async IAsyncEnumerable<(WatchEventType, V1ConfigMap)> Events(Exception? end, (WatchEventType, V1ConfigMap)[] events)
    {
        await Task.Yield();
        foreach (var e in events) yield return e;
        if (end is not null) throw end;
    }

    private static WatchExpiredException Expired() => new(410, "Expired", "too old resource version: 10 (25)");

    private static WatchErrorException InternalError() => new(500, "InternalError", "etcdserver: request timed out");

    private string[] Cached() => [.. _informer.Store.List().Select(o => o.Metadata.Name + "@" + o.Metadata.ResourceVersion).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Watch_Expired410_RelistsAndCacheHoldsNewObjects()
    {
        _api.SetObjects("10", FakeListWatch.Object("a", "5"), FakeListWatch.Object("b", "6"));
        // While the watch is down the objects change and etcd compacts past resourceVersion 10.
        _api.Script((_, _) =>
        {
            _api.SetObjects("25", FakeListWatch.Object("b", "21"), FakeListWatch.Object("c", "22"));
            return Events(Expired(), []);
        });
        Start();
        Assert.Equal("10", await _api.WatchOpenedAsync());
        await _time.PassNextDelayAsync();
        Assert.Equal("25", await _api.WatchOpenedAsync());

        Assert.Equal(2, _api.ListCount);
        Assert.Equal(["b@21", "c@22"], Cached());
        Assert.Equal(2, _informer.ListCalls);
        Assert.Equal(2, _informer.WatchCalls);
    }

    [Fact]
    public async Task List_FirstFromTheWatchCache_RelistAfter410FromEtcd()
    {
        _api.SetObjects("10", FakeListWatch.Object("a", "5"));
        _api.Script((_, _) => Events(Expired(), []));
        Start();
        await _api.WatchOpenedAsync();
        await _time.PassNextDelayAsync();
        await _api.WatchOpenedAsync();

        // resourceVersion 0 (any recent state, from the API server's watch cache) only before this
        // cache has seen anything: a relist must not go back to an older state than it has seen.
        Assert.Equal(["0", null], _api.Lists.Select(q => q.ResourceVersion));
    }

    [Fact]
    public async Task Watch_Expired410_ObjectsDeletedDuringTheGapReportedAsDeleted()
    {
        _api.SetObjects("10", FakeListWatch.Object("a", "5"), FakeListWatch.Object("b", "6"), FakeListWatch.Object("c", "7"));
        _api.Script((_, _) =>
        {
            _api.SetObjects("30", FakeListWatch.Object("b", "6"));
            return Events(Expired(), []);
        });
        Start();
        await _api.WatchOpenedAsync();
        await _time.PassNextDelayAsync();
        await _api.WatchOpenedAsync();

        lock (_deleted) Assert.Equal(["a", "c"], _deleted.Order(StringComparer.Ordinal));
        Assert.Equal(["b@6"], Cached());
    }

    [Fact]
    public async Task Watch_NonExpiredErrors_BacksOffExponentiallyCappedNotATightLoop()
    {
        _api.SetObjects("10", FakeListWatch.Object("a", "5"));
        for (var i = 0; i < 50; i++) _api.Script(Stream(InternalError()));
        Start();
        await _api.WatchOpenedAsync();

        // Step the clock through one minute of failures, delay by delay.
        var delays = new List<TimeSpan>();
        var elapsed = TimeSpan.Zero;
        while (elapsed < TimeSpan.FromMinutes(1))
        {
            var d = await _time.NextDelayAsync();
            Assert.Equal(delays.Count + 1, _api.WatchCount); // never a second watch before the delay passes
            delays.Add(d);
            _time.Advance(d);
            elapsed += d;
            await _api.WatchOpenedAsync();
        }

        Assert.InRange(_api.WatchCount, 2, 12);
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30)));
        // Each wait is drawn from [d/2, d] with d doubling: it never shrinks until d reaches the cap
        // (0.2 s * 2^7 = 25.6 s), then stays within [15 s, 30 s].
        for (var i = 1; i < Math.Min(delays.Count, 8); i++) Assert.True(delays[i] >= delays[i - 1], $"delay {i} shrank: {delays[i]} after {delays[i - 1]}");
        Assert.True(delays.Count > 8, $"one minute passed in {delays.Count} waits: {string.Join(", ", delays)}");
        Assert.All(delays.Skip(8), d => Assert.InRange(d, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(30)));
        Assert.Equal(1, _api.ListCount); // every retry resumed the watch, none relisted
    }

    [Fact]
    public async Task Watch_ShortEmptyStream_NotReopenedAtOnce()
    {
        _api.SetObjects("10");
        for (var i = 0; i < 10; i++) _api.Script(Stream(null));
        Start();
        await _api.WatchOpenedAsync();

        var first = await _time.NextDelayAsync();
        Assert.Equal(1, _api.WatchCount);
        Assert.True(first >= TimeSpan.FromMilliseconds(100), $"waited only {first}");
        _time.Advance(first);
        Assert.Equal("10", await _api.WatchOpenedAsync());
        var second = await _time.NextDelayAsync();
        Assert.Equal(2, _api.WatchCount);
        Assert.True(second >= first, $"{second} after {first}");
        Assert.Equal(1, _api.ListCount);
    }

    [Fact]
    public async Task Watch_StreamWithEventsEnds_ReopenedAtOnceFromLastResourceVersion()
    {
        _api.SetObjects("10");
        _api.Script(Stream(null, (WatchEventType.Added, FakeListWatch.Object("a", "11"))));
        Start();
        Assert.Equal("10", await _api.WatchOpenedAsync());
        Assert.Equal("11", await _api.WatchOpenedAsync());
        Assert.False(_time.HasPendingDelay);
    }

    [Fact]
    public async Task Watch_NonExpiredErrorAfterEvents_ResumesFromLastResourceVersionWithoutList()
    {
        _api.SetObjects("10", FakeListWatch.Object("a", "5"));
        _api.Script(Stream(InternalError(),
            (WatchEventType.Added, FakeListWatch.Object("c", "11")),
            (WatchEventType.Modified, FakeListWatch.Object("a", "12")),
            (WatchEventType.Bookmark, new V1ConfigMap { Metadata = new V1ObjectMeta { ResourceVersion = "13" } })));
        Start();
        await _api.WatchOpenedAsync();
        var delay = await _time.PassNextDelayAsync();

        Assert.Equal("13", await _api.WatchOpenedAsync());
        Assert.Equal(1, _api.ListCount);
        Assert.Equal(["a@12", "c@11"], Cached());
        // The watch had delivered events: it was healthy, so the backoff starts over.
        Assert.InRange(delay, TimeSpan.FromMilliseconds(100), Informer<V1ConfigMap>.InitialBackoff);
    }

    [Fact]
    public async Task Watch_AfterAFailedWatch_NextOneIsShortThenTheUsualTimeoutAgain()
    {
        _api.SetObjects("10", FakeListWatch.Object("a", "5"));
        _api.Script(Stream(InternalError()));
        // The watch after the failure ends normally (as at its short server-side timeout) after a bookmark.
        _api.Script(Stream(null, (WatchEventType.Bookmark, new V1ConfigMap { Metadata = new V1ObjectMeta { ResourceVersion = "10" } })));
        Start();
        await _api.WatchOpenedAsync();
        await _time.PassNextDelayAsync();
        Assert.Equal("10", await _api.WatchOpenedAsync());
        // Ended, not failed: resumed from the same resourceVersion, without a LIST.
        Assert.Equal("10", await _api.WatchOpenedAsync());

        Assert.Equal(1, _api.ListCount);
        int[] timeouts;
        lock (_api) timeouts = [.. _api.WatchTimeouts];
        Assert.Equal([300, (int)Informer<V1ConfigMap>.RecoveryWatch.TotalSeconds, 300], timeouts);
    }

    [Fact]
    public async Task Watch_BackingOffAfterFailures_TriesAgainAtOnceWhenTheApiServerAnswersAgain()
    {
        _api.SetObjects("10", FakeListWatch.Object("a", "5"));
        for (var i = 0; i < 3; i++) _api.Script(Stream(InternalError()));
        Start();
        await _api.WatchOpenedAsync();
        await _time.PassNextDelayAsync();
        await _api.WatchOpenedAsync();
        await _time.PassNextDelayAsync();
        await _api.WatchOpenedAsync();
        await _time.NextDelayAsync(); // the third failure's backoff: not passed on the clock

        _reachability.Answered(); // e.g. the leader elector's renewal went through

        Assert.Equal("10", await _api.WatchOpenedAsync());
        Assert.Equal(4, _api.WatchCount);
        Assert.Equal(1, _api.ListCount);
    }

    [Fact]
    public async Task Watch_ExpiresRightAfterEveryList_BacksOffInsteadOfRelistingInALoop()
    {
        _api.SetObjects("10", FakeListWatch.Object("a", "5"));
        for (var i = 0; i < 10; i++) _api.Script(Stream(Expired()));
        Start();
        await _api.WatchOpenedAsync();

        var delays = new List<TimeSpan>();
        for (var i = 0; i < 5; i++)
        {
            delays.Add(await _time.NextDelayAsync());
            Assert.Equal(i + 1, _api.ListCount); // a LIST does not reset the backoff, and no LIST before the delay
            _time.Advance(delays[^1]);
            await _api.WatchOpenedAsync();
        }
        Assert.True(delays[^1] >= TimeSpan.FromSeconds(1), $"backoff never grew: {string.Join(", ", delays)}");
    }

    [Fact]
    public async Task List_ThreePages_YieldsAllItems()
    {
        var objects = Enumerable.Range(0, 1200).Select(i => FakeListWatch.Object("o" + i, "5")).ToArray();
        _api.SetObjects("10", objects);
        Start();
        await _api.WatchOpenedAsync();

        Assert.Equal(1200, _informer.Store.Count);
        Assert.True(_informer.HasSynced);
        // The first list asks for resourceVersion 0; the pages after it carry only the continue token.
        Assert.Equal([new ListQuery(500, null, "0"), new ListQuery(500, "500"), new ListQuery(500, "1000")], _api.Lists);
        Assert.Equal(3, _informer.ListCalls);
    }

    [Fact]
    public async Task List_ContinueTokenExpired_RestartsListFromScratch()
    {
        var objects = Enumerable.Range(0, 1200).Select(i => FakeListWatch.Object("o" + i, "5")).ToArray();
        _api.SetObjects("10", objects);
        _api.ExpireNextContinue = true;
        Start();
        Assert.Equal("10", await _api.WatchOpenedAsync());

        Assert.Equal(1200, _informer.Store.Count);
        Assert.Equal(new ListQuery(null, null), _api.Lists[2]); // started again, in one request that cannot expire half-way
        Assert.Equal(3, _api.ListCount);
        Assert.Empty(_deleted);
    }
}
