using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ResilienceOperator.Entities;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public sealed class EventRecorderTests
{
    /// <summary>Records the calls; each create waits for <see cref="Gate"/> when it is set.</summary>
    private sealed class Sink : IEventSink
    {
        private int _n;
        public List<string> Writes { get; } = [];
        public TaskCompletionSource? Gate { get; set; }
        public bool HangForever { get; set; }

        public async Task<Corev1Event> CreateAsync(Corev1Event ev, string ns, CancellationToken ct)
        {
            if (HangForever) await Task.Delay(Timeout.Infinite, ct); // as an HTTP call that never answers
            if (Gate is { } g) await g.Task;
            lock (Writes) Writes.Add($"create {ev.Reason} {ev.Message}");
            return new Corev1Event { Metadata = new V1ObjectMeta { Name = $"ev{Interlocked.Increment(ref _n)}" } };
        }

        public Task PatchAsync(string name, string ns, V1Patch patch, CancellationToken ct)
        {
            lock (Writes) Writes.Add($"patch {name} {patch.Content}");
            return Task.CompletedTask;
        }
    }

    private static ResiliencePolicy Policy(string name = "checkout") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop", Uid = "uid-" + name },
    };

    private static double DroppedCount(string reason) => EventRecorder.DroppedTotal(reason);

    [Fact]
    public async Task RecordAsync_SinkHangsOnCreate_ReturnsAtOnce()
    {
        var sink = new Sink { HangForever = true };
        await using var recorder = new EventRecorder(sink, "test", NullLogger.Instance, time: new FakeTimeProvider());
        var record = recorder.RecordAsync(Policy(), EventRecorder.Warning, "Slow", "one", CancellationToken.None);
        Assert.True(record.IsCompleted);
        for (var i = 0; i < 10; i++)
            Assert.True(recorder.RecordAsync(Policy(), EventRecorder.Warning, "Slow", $"more {i}").IsCompleted);
    }

    [Fact]
    public async Task RecordAsync_Several_WrittenInOrder()
    {
        var sink = new Sink();
        await using var recorder = new EventRecorder(sink, "test", NullLogger.Instance, time: new FakeTimeProvider());
        for (var i = 0; i < 20; i++) await recorder.RecordAsync(Policy("p" + (i % 3)), EventRecorder.Normal, "Step", $"m{i}");
        await recorder.FlushAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"create Step m{i}"), sink.Writes);
    }

    [Fact]
    public async Task RecordAsync_QueueFull_DropsOldestAndCounts()
    {
        var sink = new Sink { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var time = new FakeTimeProvider();
        await using var recorder = new EventRecorder(sink, "test", NullLogger.Instance, time: time, capacity: 3);
        var before = DroppedCount("overflow");
        await recorder.RecordAsync(Policy("a"), EventRecorder.Normal, "R", "first"); // taken by the loop, held at the gate
        while (recorder.Pending > 0) await Task.Yield();
        for (var i = 0; i < 5; i++) await recorder.RecordAsync(Policy("b" + i), EventRecorder.Normal, "R", $"q{i}");
        Assert.Equal(3, recorder.Pending);
        Assert.Equal(2, DroppedCount("overflow") - before);

        sink.Gate.SetResult();
        await recorder.FlushAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["create R first", "create R q2", "create R q3", "create R q4"], sink.Writes);
    }

    [Fact]
    public async Task RecordAsync_RepeatWithinWindow_PatchesCountInsteadOfCreating()
    {
        var sink = new Sink();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var recorder = new EventRecorder(sink, "test", NullLogger.Instance, time: time);
        await recorder.RecordAsync(Policy(), EventRecorder.Warning, "Unhealthy", "primary down");
        time.Advance(TimeSpan.FromMinutes(1));
        await recorder.RecordAsync(Policy(), EventRecorder.Warning, "Unhealthy", "primary down");
        time.Advance(TimeSpan.FromMinutes(11));
        await recorder.RecordAsync(Policy(), EventRecorder.Warning, "Unhealthy", "primary down");
        await recorder.FlushAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, sink.Writes.Count);
        Assert.Equal("create Unhealthy primary down", sink.Writes[0]);
        Assert.Equal("""patch ev1 {"count":2,"lastTimestamp":"2026-01-01T00:01:00Z"}""", sink.Writes[1]);
        Assert.Equal("create Unhealthy primary down", sink.Writes[2]); // the window had passed
    }

    [Fact]
    public async Task RecordAsync_BeyondBurstForOneObject_SpamDroppedUntilRefilled()
    {
        var sink = new Sink();
        var time = new FakeTimeProvider();
        await using var recorder = new EventRecorder(sink, "test", NullLogger.Instance, time: time);
        var before = DroppedCount("spam");
        for (var i = 0; i < EventRecorder.SpamBurst + 5; i++) await recorder.RecordAsync(Policy("noisy"), EventRecorder.Warning, "R", $"m{i}");
        await recorder.RecordAsync(Policy("quiet"), EventRecorder.Normal, "R", "other object");
        await recorder.FlushAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(EventRecorder.SpamBurst + 1, sink.Writes.Count);
        Assert.Equal(5, DroppedCount("spam") - before);

        time.Advance(EventRecorder.SpamRefill);
        await recorder.RecordAsync(Policy("noisy"), EventRecorder.Warning, "R", "after refill");
        await recorder.FlushAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("create R after refill", sink.Writes[^1]);
    }

    [Fact]
    public async Task RecordAsync_LeaseNotHeld_NothingWrittenAndTermCancelled()
    {
        var sink = new Sink();
        var time = new FakeTimeProvider();
        var fence = new LeaseFence(time, TimeSpan.FromSeconds(10));
        using var term = new CancellationTokenSource();
        fence.Acquired(time.GetTimestamp(), term);
        await using var recorder = new EventRecorder(sink, "test", NullLogger.Instance, fence, time);
        await recorder.RecordAsync(Policy(), EventRecorder.Normal, "R", "held");
        await recorder.FlushAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(11));
        await recorder.RecordAsync(Policy(), EventRecorder.Normal, "R", "stale");
        await recorder.FlushAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["create R held"], sink.Writes);
        Assert.True(term.IsCancellationRequested);
    }

    [Fact]
    public async Task StopAsync_SinkHangs_BoundedAndCountsTheRest()
    {
        var sink = new Sink { HangForever = true };
        var time = new FakeTimeProvider();
        var recorder = new EventRecorder(sink, "test", NullLogger.Instance, time: time);
        var before = DroppedCount("shutdown");
        for (var i = 0; i < 3; i++) await recorder.RecordAsync(Policy(), EventRecorder.Normal, "R", $"m{i}");
        while (recorder.Pending > 2) await Task.Yield();
        var stop = recorder.StopAsync(TimeSpan.FromSeconds(2));
        Assert.False(stop.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(2));
        await stop.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, DroppedCount("shutdown") - before);
        await recorder.DisposeAsync();
    }
}
