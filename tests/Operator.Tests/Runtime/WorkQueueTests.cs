using Microsoft.Extensions.Time.Testing;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public sealed class WorkQueueTests
{
    private static async Task<string> Next(WorkQueue<string> q)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var (ok, key) = await q.GetAsync(cts.Token);
        Assert.True(ok);
        return key;
    }

    [Fact]
    public async Task Add_SameKeyTwice_QueuedOnce()
    {
        using var q = new WorkQueue<string>("t1");
        q.Add("a"); q.Add("a"); q.Add("b");
        Assert.Equal(2, q.Length);
        Assert.Equal("a", await Next(q));
        Assert.Equal("b", await Next(q));
    }

    [Fact]
    public async Task Add_WhileProcessing_NotHandedOutUntilDone()
    {
        using var q = new WorkQueue<string>("t2");
        q.Add("a");
        var key = await Next(q);
        q.Add("a");
        Assert.Equal(0, q.Length); // never to a second worker while the first holds it
        q.Done(key);
        Assert.Equal(1, q.Length);
        Assert.Equal("a", await Next(q));
    }

    [Fact]
    public async Task AddAfter_FiresOnlyWhenDue()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        using var q = new WorkQueue<string>("t3", time);
        q.AddAfter("a", TimeSpan.FromSeconds(10));
        await Task.Delay(50);
        Assert.Equal(0, q.Length);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("a", await Next(q));
    }

    [Fact]
    public void RateLimiter_When_DoublesPerItemAndForgetResets()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var limiter = new RateLimiter<string>(time);
        var d1 = limiter.When("a");
        var d2 = limiter.When("a");
        var d3 = limiter.When("a");
        Assert.InRange(d1.TotalMilliseconds, 5, 5.5);
        Assert.InRange(d2.TotalMilliseconds, 10, 11);
        Assert.InRange(d3.TotalMilliseconds, 20, 22);
        Assert.Equal(3, limiter.NumRequeues("a"));
        limiter.Forget("a");
        Assert.InRange(limiter.When("a").TotalMilliseconds, 5, 5.5);
    }

    [Fact]
    public void RateLimiter_When_CapsAt1000Seconds()
    {
        var limiter = new RateLimiter<string>(new FakeTimeProvider(DateTimeOffset.UnixEpoch));
        TimeSpan d = default;
        for (var i = 0; i < 40; i++) d = limiter.When("a");
        Assert.Equal(1000, d.TotalSeconds, 3);
    }

    [Fact]
    public void RateLimiter_When_OverallBucketLimitsBurstTo100()
    {
        var limiter = new RateLimiter<string>(new FakeTimeProvider(DateTimeOffset.UnixEpoch));
        for (var i = 0; i < 100; i++) Assert.True(limiter.When("k" + i) < TimeSpan.FromMilliseconds(6));
        // the 101st distinct key waits for a token: 1/10 qps
        Assert.InRange(limiter.When("k100").TotalMilliseconds, 99, 101);
    }

    [Fact]
    public async Task ShutDown_WakesWaitingWorkers()
    {
        using var q = new WorkQueue<string>("t4");
        var waiting = q.GetAsync(CancellationToken.None);
        q.ShutDown();
        var (ok, _) = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(ok);
    }

    [Fact]
    public async Task Reset_DelayedAndQueuedKeysOfPreviousTerm_NeverHandedOut()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        using var q = new WorkQueue<string>("t-reset", time);
        q.AddAfter("timer", TimeSpan.FromSeconds(10));
        q.Add("queued");
        q.AddRateLimited("failing");
        q.AddRateLimited("failing");

        q.Reset();
        Assert.Equal(0, q.Length);
        Assert.Equal(0, q.NumRequeues("failing"));
        time.Advance(TimeSpan.FromMinutes(5));
        await Task.Delay(50); // the delay loop had its chance to fire
        Assert.Equal(0, q.Length);

        // Still usable: the new term seeds it.
        q.Add("seed");
        Assert.Equal("seed", await Next(q));
    }
}
