using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using ResilienceOperator.Hosting;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Hosting;

public sealed class ReadinessCheckTests
{
    private static readonly TimeSpan Stall = TimeSpan.FromMinutes(2);

    private sealed class State : IOperatorState
    {
        public bool CachesSynced { get; set; } = true;
        public bool IsLeading { get; set; } = true;
        public List<IQueueProgress> QueueList { get; } = [];
        public IReadOnlyList<IQueueProgress> Queues => QueueList;
    }

    private static async Task<string> Take(WorkQueue<string> q)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var (ok, key) = await q.GetAsync(cts.Token);
        Assert.True(ok);
        return key;
    }

    [Fact]
    public void Check_CachesNotSynced_Unhealthy()
    {
        var time = new FakeTimeProvider();
        var result = new ReadinessCheck(new State { CachesSynced = false }, Stall, time).Check();
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Equal("caches not synced", result.Description);
    }

    [Fact]
    public void Check_QueueWaitingLongerThanTimeoutNothingDone_UnhealthyNamingTheQueue()
    {
        var time = new FakeTimeProvider();
        using var q = new WorkQueue<string>("stalled", time);
        var state = new State { QueueList = { q } };
        var check = new ReadinessCheck(state, Stall, time);
        q.Add("a"); // no worker takes it
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(HealthStatus.Healthy, check.Check().Status); // waiting, not yet stalled
        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        var result = check.Check();
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("work queue stalled stalled", result.Description, StringComparison.Ordinal);
        Assert.Contains("121s", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_WorkerHungOnItem_UnhealthyUntilDone()
    {
        var time = new FakeTimeProvider();
        using var q = new WorkQueue<string>("hung", time);
        var check = new ReadinessCheck(new State { QueueList = { q } }, Stall, time);
        q.Add("a");
        var held = await Take(q); // a worker takes it and never finishes
        q.Add("a");               // changed again meanwhile: waits for that worker
        q.Add("b");
        time.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(HealthStatus.Unhealthy, check.Check().Status);
        q.Done(held);
        Assert.Equal(HealthStatus.Healthy, check.Check().Status);
    }

    [Fact]
    public async Task Check_QueueProcessing_Healthy()
    {
        var time = new FakeTimeProvider();
        using var q = new WorkQueue<string>("busy", time);
        var check = new ReadinessCheck(new State { QueueList = { q } }, Stall, time);
        // A long backlog worked through one item a minute: the oldest waits long, but items are done.
        for (var i = 0; i < 10; i++) q.Add("k" + i);
        for (var i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            q.Done(await Take(q));
            Assert.Equal(HealthStatus.Healthy, check.Check().Status);
        }
        Assert.True(time.GetUtcNow() - q.OldestWaitingSince > Stall);
    }

    [Fact]
    public void Check_StandbyWithWaitingQueue_HealthyOnceSynced()
    {
        var time = new FakeTimeProvider();
        using var q = new WorkQueue<string>("standby", time);
        q.Add("a");
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(HealthStatus.Healthy, new ReadinessCheck(new State { IsLeading = false, QueueList = { q } }, Stall, time).Check().Status);
    }

    [Fact]
    public void Check_EmptyQueueNothingDoneForLong_Healthy()
    {
        var time = new FakeTimeProvider();
        using var q = new WorkQueue<string>("idle", time);
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(HealthStatus.Healthy, new ReadinessCheck(new State { QueueList = { q } }, Stall, time).Check().Status);
        Assert.Null(q.OldestWaitingSince);
        Assert.Null(q.LastDoneAt);
    }

    [Fact]
    public async Task WriteAsync_Unhealthy_StatusAndReasonJson()
    {
        var context = new DefaultHttpContext();
        using var body = new MemoryStream();
        context.Response.Body = body;
        var report = new HealthReport(new Dictionary<string, HealthReportEntry>
        {
            ["operator"] = new(HealthStatus.Unhealthy, "caches not synced", TimeSpan.Zero, null, null),
        }, TimeSpan.Zero);
        await OperatorHealthChecks.WriteAsync(context, report);
        using var json = JsonDocument.Parse(body.ToArray());
        Assert.Equal("Unhealthy", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("caches not synced", json.RootElement.GetProperty("reason").GetString());
        Assert.StartsWith("application/json", context.Response.ContentType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_Healthy_StatusOnly()
    {
        var context = new DefaultHttpContext();
        using var body = new MemoryStream();
        context.Response.Body = body;
        var report = new HealthReport(new Dictionary<string, HealthReportEntry>
        {
            ["process"] = new(HealthStatus.Healthy, "process answers", TimeSpan.Zero, null, null),
        }, TimeSpan.Zero);
        await OperatorHealthChecks.WriteAsync(context, report);
        Assert.Equal("""{"status":"Healthy"}""", System.Text.Encoding.UTF8.GetString(body.ToArray()));
    }
}
