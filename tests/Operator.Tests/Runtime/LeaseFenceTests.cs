using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public sealed class LeaseFenceTests
{
    private static readonly TimeSpan RenewDeadline = TimeSpan.FromSeconds(10);

    [Fact]
    public void EnsureHeld_ClockPastRenewDeadline_ThrowsAndCancelsTerm()
    {
        var time = new FakeTimeProvider();
        var fence = new LeaseFence(time, RenewDeadline);
        using var term = new CancellationTokenSource();
        fence.Acquired(time.GetTimestamp(), term);
        time.Advance(TimeSpan.FromSeconds(9.9));
        fence.EnsureHeld();
        Assert.True(fence.IsHeld);

        // Frozen (SIGSTOP, GC pause) past the deadline: the monotonic clock kept counting.
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.False(fence.IsHeld);
        var refused = Assert.Throws<NotLeaderException>(fence.EnsureHeld);
        Assert.True(term.IsCancellationRequested);
        Assert.Equal(term.Token, refused.CancellationToken);
    }

    [Fact]
    public void EnsureHeld_RenewedAfterDeadline_HeldAgain()
    {
        var time = new FakeTimeProvider();
        var fence = new LeaseFence(time, RenewDeadline);
        using var term = new CancellationTokenSource();
        fence.Acquired(time.GetTimestamp(), term);
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.Throws<NotLeaderException>(fence.EnsureHeld);

        fence.Renewed(time.GetTimestamp());
        Assert.True(fence.IsHeld);
        fence.EnsureHeld();
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.True(fence.IsHeld);
    }

    [Fact]
    public void Renewed_MeasuredFromTheStartOfTheAttempt_NotItsEnd()
    {
        var time = new FakeTimeProvider();
        var fence = new LeaseFence(time, RenewDeadline);
        using var term = new CancellationTokenSource();
        fence.Acquired(time.GetTimestamp(), term);
        var started = time.GetTimestamp();
        time.Advance(TimeSpan.FromSeconds(4)); // a slow renewal
        fence.Renewed(started);
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.False(fence.IsHeld);
    }

    [Fact]
    public void EnsureHeld_AfterLost_Throws()
    {
        var time = new FakeTimeProvider();
        var fence = new LeaseFence(time, RenewDeadline);
        using var term = new CancellationTokenSource();
        fence.Acquired(time.GetTimestamp(), term);
        fence.Lost();
        Assert.Throws<NotLeaderException>(fence.EnsureHeld);
        fence.Renewed(time.GetTimestamp()); // a late renewal of an ended term does not revive it
        Assert.False(fence.IsHeld);
    }

    [Fact]
    public void EnsureHeld_NeverAcquired_Throws()
    {
        var fence = new LeaseFence(new FakeTimeProvider(), RenewDeadline);
        Assert.False(fence.IsHeld);
        Assert.Throws<NotLeaderException>(fence.EnsureHeld);
    }

    [Fact]
    public void Unfenced_WithoutLeaderElection_AlwaysHeld()
    {
        Assert.True(LeaseFence.Unfenced.IsHeld);
        LeaseFence.Unfenced.EnsureHeld();
    }

    [Fact]
    public async Task Guard_FenceNotHeld_NothingSentAndTermCancelled()
    {
        var time = new FakeTimeProvider();
        var fence = new LeaseFence(time, RenewDeadline);
        using var term = new CancellationTokenSource();
        fence.Acquired(time.GetTimestamp(), term);
        time.Advance(TimeSpan.FromSeconds(30));
        var sent = false;
        await Assert.ThrowsAsync<NotLeaderException>(() => ClusterWriter.Guard(fence, "deployments", "patch", () =>
        {
            sent = true;
            return Task.FromResult(0);
        }));
        Assert.False(sent);
        Assert.True(term.IsCancellationRequested);
    }

    [Fact]
    public async Task Guard_FenceHeld_Sends()
    {
        var time = new FakeTimeProvider();
        var fence = new LeaseFence(time, RenewDeadline);
        using var term = new CancellationTokenSource();
        fence.Acquired(time.GetTimestamp(), term);
        Assert.Equal(7, await ClusterWriter.Guard(fence, "deployments", "patch", () => Task.FromResult(7)));
    }

    private sealed class RefusedReconciler(LeaseFence fence) : IReconciler
    {
        public int Calls;

        public Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct)
        {
            Interlocked.Increment(ref Calls);
            fence.EnsureHeld();
            return Task.FromResult(ReconcileResult.Done);
        }
    }

    [Fact]
    public async Task Controller_WriteRefusedByFence_WorkerStopsWithoutRetry()
    {
        var time = new FakeTimeProvider();
        var fence = new LeaseFence(time, RenewDeadline);
        using var term = new CancellationTokenSource();
        fence.Acquired(time.GetTimestamp(), term);
        time.Advance(TimeSpan.FromSeconds(11));
        using var queue = new WorkQueue<ObjectKey>("fence-test", time);
        var reconciler = new RefusedReconciler(fence);
        var controller = new Controller("fence-test", reconciler, queue, 1, NullLogger.Instance);
        queue.Add(new ObjectKey("ns", "a"));

        await controller.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, reconciler.Calls);
        Assert.True(term.IsCancellationRequested);
        Assert.Equal(0, queue.NumRequeues(new ObjectKey("ns", "a")));
        time.Advance(TimeSpan.FromMinutes(20));
        Assert.Equal(0, queue.Length); // not requeued, no backoff timer
    }
}
