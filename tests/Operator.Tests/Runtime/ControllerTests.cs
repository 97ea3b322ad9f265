using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

/// <summary>The work queue's guarantees as the controller's workers see them, under concurrency.</summary>
public sealed class ControllerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private sealed class Reconciler(Func<ObjectKey, CancellationToken, Task<ReconcileResult>> reconcile) : IReconciler
    {
        public Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct) => reconcile(key, ct);
    }

    /// <summary>
    /// Waits for the queue to start waiting for a requeue and moves the clock past it. The queue's
    /// timer is in whole milliseconds while the due time carries up to 10% jitter, so the clock moves
    /// a little further than the timer: in one step, without a second short timer.
    /// </summary>
    private static async Task<TimeSpan> PassRequeueDelayAsync(TimerRecordingTimeProvider time)
    {
        var d = await time.NextDelayAsync();
        time.Advance(d + d / 10 + TimeSpan.FromMilliseconds(1));
        return d;
    }

    private static async Task StopAsync(WorkQueue<ObjectKey> queue, CancellationTokenSource cts, Task run)
    {
        queue.ShutDown();
        await cts.CancelAsync();
        await run.WaitAsync(Bound);
    }

    [Fact]
    public async Task Controller_ManyConcurrentAddsOfSameKeys_NeverReconciledByTwoWorkersAtOnce()
    {
        ObjectKey[] keys = [new("ns", "a"), new("ns", "b"), new("ns", "c")];
        var inFlight = new ConcurrentDictionary<ObjectKey, int>();
        var maxInFlight = new ConcurrentDictionary<ObjectKey, int>();
        var reconciles = 0;
        var addsDone = 0;
        var finalRound = keys.ToDictionary(k => k, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        using var queue = new WorkQueue<ObjectKey>("ctl-concurrency");
        var controller = new Controller("ctl-concurrency", new Reconciler(async (key, _) =>
        {
            var startedAfterAdds = Volatile.Read(ref addsDone) == 1;
            var now = inFlight.AddOrUpdate(key, 1, (_, n) => n + 1);
            maxInFlight.AddOrUpdate(key, now, (_, m) => Math.Max(m, now));
            Interlocked.Increment(ref reconciles);
            // A slow reconcile: give the other workers every chance to pick the same key.
            for (var i = 0; i < 20; i++) { await Task.Yield(); Thread.SpinWait(200); }
            inFlight.AddOrUpdate(key, 0, (_, n) => n - 1);
            if (startedAfterAdds) finalRound[key].TrySetResult();
            return ReconcileResult.Done;
        }), queue, workers: 4, NullLogger.Instance);
        using var cts = new CancellationTokenSource();
        var run = controller.RunAsync(cts.Token);

        const int addsPerThread = 2000;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < addsPerThread; i++) queue.Add(keys[(i + t) % keys.Length]);
        }))).WaitAsync(Bound);
        Volatile.Write(ref addsDone, 1);
        // Every key is reconciled once more after the last add, whatever it was doing then.
        foreach (var k in keys) queue.Add(k);
        await Task.WhenAll(finalRound.Values.Select(t => t.Task)).WaitAsync(Bound);
        await StopAsync(queue, cts, run);

        Assert.All(keys, k => Assert.Equal(1, maxInFlight[k]));
        Assert.True(reconciles < 4 * addsPerThread, $"{reconciles} reconciles for {4 * addsPerThread} adds: adds were not deduplicated");
    }

    [Fact]
    public async Task Controller_ReconcileKeepsFailing_RequeueDelayGrowsAndSuccessForgets()
    {
        var time = new TimerRecordingTimeProvider(recordBelow: TimeSpan.FromSeconds(1));
        var key = new ObjectKey("ns", "flaky");
        var attempts = Channel.CreateUnbounded<int>();
        var calls = 0;
        using var queue = new WorkQueue<ObjectKey>("ctl-backoff", time);
        var controller = new Controller("ctl-backoff", new Reconciler((k, _) =>
        {
            attempts.Writer.TryWrite(queue.NumRequeues(k));
            return ++calls <= 3 ? throw new InvalidOperationException("API server unavailable") : Task.FromResult(ReconcileResult.Done);
        }), queue, workers: 1, NullLogger.Instance);
        using var cts = new CancellationTokenSource();
        var run = controller.RunAsync(cts.Token);

        queue.Add(key);
        var delays = new List<TimeSpan>();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(i, await attempts.Reader.ReadAsync().AsTask().WaitAsync(Bound));
            delays.Add(await PassRequeueDelayAsync(time)); // the failed key waits in the queue for its backoff
        }
        Assert.Equal(3, await attempts.Reader.ReadAsync().AsTask().WaitAsync(Bound)); // fourth attempt succeeds
        queue.Add(key);
        Assert.Equal(0, await attempts.Reader.ReadAsync().AsTask().WaitAsync(Bound)); // success forgot the failures
        await StopAsync(queue, cts, run);

        Assert.Equal(5, delays[0].TotalMilliseconds);
        Assert.True(delays[0] < delays[1] && delays[1] < delays[2], string.Join(", ", delays));
    }

    [Fact]
    public async Task Controller_KeyAddedDuringReconcile_ReconciledAgainAfterDone()
    {
        var key = new ObjectKey("ns", "busy");
        var log = new ConcurrentQueue<string>();
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        using var queue = new WorkQueue<ObjectKey>("ctl-readd");
        var controller = new Controller("ctl-readd", new Reconciler(async (k, _) =>
        {
            var n = Interlocked.Increment(ref calls);
            log.Enqueue("start" + n);
            // An event for the same object arrives while it is being reconciled.
            if (n == 1) queue.Add(k);
            await Task.Yield();
            log.Enqueue("end" + n);
            if (n == 2) second.TrySetResult();
            return ReconcileResult.Done;
        }), queue, workers: 2, NullLogger.Instance);
        using var cts = new CancellationTokenSource();
        var run = controller.RunAsync(cts.Token);

        queue.Add(key);
        await second.Task.WaitAsync(Bound);
        await StopAsync(queue, cts, run);

        Assert.Equal(["start1", "end1", "start2", "end2"], log);
    }

    [Fact]
    public async Task WorkQueue_AddRateLimitedThenForget_DelayStartsOver()
    {
        var time = new TimerRecordingTimeProvider(recordBelow: TimeSpan.FromSeconds(1));
        using var queue = new WorkQueue<string>("q-forget", time);
        queue.AddRateLimited("a");
        var first = await PassRequeueDelayAsync(time);
        using var get = new CancellationTokenSource(Bound);
        var (ok, key) = await queue.GetAsync(get.Token);
        Assert.True(ok);
        queue.Done(key);
        queue.AddRateLimited("a");
        Assert.Equal(2, queue.NumRequeues("a"));
        var second = await PassRequeueDelayAsync(time);
        (ok, key) = await queue.GetAsync(get.Token);
        Assert.True(ok);
        queue.Done(key);

        queue.Forget("a");
        Assert.Equal(0, queue.NumRequeues("a"));
        queue.AddRateLimited("a");
        var afterForget = await time.NextDelayAsync();

        Assert.True(second > first, $"{second} after {first}");
        Assert.Equal(5, afterForget.TotalMilliseconds); // the queue's timers are in whole milliseconds
    }
}
