using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

/// <summary>The Lease in memory, with the API server's resourceVersion check, and faults on demand.</summary>
internal sealed class FakeLeaseStore : ILeaseStore
{
    private readonly Lock _lock = new();
    private V1Lease? _lease;
    private int _version;

    /// <summary>When set, every call fails with what it returns.</summary>
    public Func<Exception>? Fault { get; set; }

    public int Calls { get; private set; }

    public V1Lease? Current { get { lock (_lock) return _lease is null ? null : Copy(_lease); } }

    public static Exception ConnectionRefused() => new HttpRequestException("Connection refused (127.0.0.1:6443)", new System.Net.Sockets.SocketException(111));

    public static Exception Status(HttpStatusCode code) => new HttpOperationException($"Operation returned an invalid status code '{code}'")
    {
        Response = new HttpResponseMessageWrapper(new HttpResponseMessage(code), ""),
    };

    /// <summary>Another replica writes the Lease (its own clock, its own timestamps).</summary>
    public void Put(string holder, int durationSeconds, DateTime renewTime, int transitions = 0)
    {
        lock (_lock)
        {
            _lease = new V1Lease
            {
                Metadata = new V1ObjectMeta { Name = "lease", ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture) },
                Spec = new V1LeaseSpec { HolderIdentity = holder, LeaseDurationSeconds = durationSeconds, RenewTime = renewTime, AcquireTime = renewTime, LeaseTransitions = transitions },
            };
        }
    }

    public Task<V1Lease?> GetAsync(CancellationToken ct)
    {
        lock (_lock)
        {
            Enter();
            return Task.FromResult(_lease is null ? null : Copy(_lease));
        }
    }

    public Task<V1Lease> CreateAsync(V1Lease lease, CancellationToken ct)
    {
        lock (_lock)
        {
            Enter();
            if (_lease is not null) throw Status(HttpStatusCode.Conflict);
            _lease = Copy(lease);
            _lease.Metadata.ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Task.FromResult(Copy(_lease));
        }
    }

    public Task<V1Lease> UpdateAsync(V1Lease lease, CancellationToken ct)
    {
        lock (_lock)
        {
            Enter();
            if (_lease is null) throw Status(HttpStatusCode.NotFound);
            if (lease.Metadata.ResourceVersion != _lease.Metadata.ResourceVersion) throw Status(HttpStatusCode.Conflict);
            _lease = Copy(lease);
            _lease.Metadata.ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Task.FromResult(Copy(_lease));
        }
    }

    private void Enter()
    {
        Calls++;
        if (Fault?.Invoke() is { } e) throw e;
    }

    private static V1Lease Copy(V1Lease l) => KubernetesJson.Deserialize<V1Lease>(KubernetesJson.Serialize(l));
}

public sealed class LeaderElectionTests
{
    private static readonly LeaderElectionTimings Timings = LeaderElectionTimings.Default;

    /// <summary>One replica: its elector, fence, and a work that records its terms.</summary>
    private sealed class Replica : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private int _terms;
        private volatile bool _leading;

        public Replica(FakeLeaseStore store, FakeTimeProvider time, string identity)
        {
            Fence = new LeaseFence(time, Timings.RenewDeadline);
            Run = new LeaderElection(store, "lease", identity, Timings, Fence, time, NullLogger.Instance).RunAsync(WorkAsync, _stop.Token);
        }

        public LeaseFence Fence { get; }
        public Task Run { get; }
        public bool Leading => _leading;
        public int Terms => Volatile.Read(ref _terms);
        public CancellationToken LastTerm { get; private set; }

        private async Task WorkAsync(CancellationToken term)
        {
            LastTerm = term;
            Interlocked.Increment(ref _terms);
            _leading = true;
            try { await Task.Delay(Timeout.Infinite, term); }
            finally { _leading = false; }
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await Run.WaitAsync(TimeSpan.FromSeconds(10));
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested) await StopAsync();
            _stop.Dispose();
        }
    }

    /// <summary>
    /// Advances the fake clock in small steps until the condition holds, yielding between steps so
    /// the elector's continuations run; all time the elector sees is the fake clock's.
    /// </summary>
    private static async Task<TimeSpan> AdvanceUntil(FakeTimeProvider time, Func<bool> condition, TimeSpan max, string what)
    {
        var step = TimeSpan.FromMilliseconds(100);
        var advanced = TimeSpan.Zero;
        while (!condition())
        {
            if (advanced >= max) Assert.Fail($"{what}: not within {max.TotalSeconds}s of fake time");
            time.Advance(step);
            advanced += step;
            await Task.Delay(2);
        }
        return advanced;
    }

    /// <summary>Advances by <paramref name="span"/> in small steps (the elector keeps up as it would in real time).</summary>
    private static Task Advance(FakeTimeProvider time, TimeSpan span)
    {
        var end = time.GetTimestamp() + (long)(span.TotalSeconds * time.TimestampFrequency);
        return AdvanceUntil(time, () => time.GetTimestamp() >= end, span + TimeSpan.FromSeconds(1), "advance");
    }

    public static TheoryData<string> Faults => ["refused", "409", "500"];

    private static Func<Exception> Fault(string kind) => kind switch
    {
        "refused" => FakeLeaseStore.ConnectionRefused,
        "409" => () => FakeLeaseStore.Status(HttpStatusCode.Conflict),
        _ => () => FakeLeaseStore.Status(HttpStatusCode.InternalServerError),
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task RunAsync_ApiFailsForAWhileThenReturns_NoExceptionEscapesAndLeadershipIsAcquired(string fault)
    {
        var time = new FakeTimeProvider();
        var store = new FakeLeaseStore { Fault = Fault(fault) };
        await using var a = new Replica(store, time, "a");

        await Advance(time, TimeSpan.FromMinutes(1));
        Assert.False(a.Run.IsCompleted, a.Run.Exception?.ToString());
        Assert.False(a.Leading);
        Assert.False(a.Fence.IsHeld);
        var attempts = store.Calls;
        // Every RetryPeriod, jittered up to 2.2 times it: neither a tight loop nor giving up.
        Assert.InRange(attempts, 60 / 4.4, (60 / 2.0) + 1);

        store.Fault = null;
        await AdvanceUntil(time, () => a.Leading, Timings.RetryPeriod * 2.3, "leads once the API is back");
        Assert.Equal("a", store.Current!.Spec.HolderIdentity);
        Assert.True(a.Fence.IsHeld);
        Assert.False(a.Run.IsCompleted);
    }

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task RunAsync_RenewalsFailPastRenewDeadline_WorkStopsAndFenceRefuses(string fault)
    {
        var time = new FakeTimeProvider();
        var store = new FakeLeaseStore();
        await using var a = new Replica(store, time, "a");
        await AdvanceUntil(time, () => a.Leading, TimeSpan.FromSeconds(1), "leads");
        var term = a.LastTerm;
        await Advance(time, TimeSpan.FromSeconds(30)); // renewals keep it
        Assert.True(a.Leading);
        Assert.True(a.Fence.IsHeld);

        store.Fault = Fault(fault);
        await Advance(time, TimeSpan.FromSeconds(7)); // the last renewal was under 10 s ago
        Assert.True(a.Fence.IsHeld);
        Assert.False(term.IsCancellationRequested);
        await AdvanceUntil(time, () => term.IsCancellationRequested, TimeSpan.FromSeconds(5), "the term's work is cancelled");
        Assert.False(a.Fence.IsHeld);
        Assert.Throws<NotLeaderException>(a.Fence.EnsureHeld);
        Assert.False(a.Run.IsCompleted, a.Run.Exception?.ToString());

        // Back to acquiring: once the API answers again, a new term.
        store.Fault = null;
        await AdvanceUntil(time, () => a.Leading && a.Terms == 2, TimeSpan.FromSeconds(10), "a new term");
        Assert.True(a.Fence.IsHeld);
    }

    [Fact]
    public async Task RunAsync_Shutdown_ReleasesLeaseAndSuccessorTakesOverAtOnce()
    {
        var time = new FakeTimeProvider();
        var store = new FakeLeaseStore();
        await using var a = new Replica(store, time, "a");
        await AdvanceUntil(time, () => a.Leading, TimeSpan.FromSeconds(1), "a leads");
        await using var b = new Replica(store, time, "b");
        await Advance(time, TimeSpan.FromSeconds(20));
        Assert.False(b.Leading);
        Assert.False(b.Fence.IsHeld);

        await a.StopAsync();
        Assert.Equal("", store.Current!.Spec.HolderIdentity);
        Assert.False(a.Fence.IsHeld);
        // Well before the 15 s lease would have expired: one jittered retry.
        await AdvanceUntil(time, () => b.Leading, Timings.RetryPeriod * 2.3, "b leads");
        Assert.Equal("b", store.Current!.Spec.HolderIdentity);
        Assert.Equal(1, store.Current!.Spec.LeaseTransitions); // created by a with 0
    }

    [Fact]
    public async Task RunAsync_LeaseHeldByAnother_ExpiryJudgedOnOurClockNotItsTimestamps()
    {
        var time = new FakeTimeProvider();
        var store = new FakeLeaseStore();
        // The other holder's clock is an hour behind: by its renewTime the lease expired long ago.
        store.Put("other", 15, time.GetUtcNow().UtcDateTime.AddHours(-1), transitions: 3);
        await using var a = new Replica(store, time, "a");
        var waited = await AdvanceUntil(time, () => a.Leading, TimeSpan.FromSeconds(25), "a takes the lease the other stopped renewing");
        Assert.InRange(waited, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(15) + (Timings.RetryPeriod * 2.3));
        Assert.Equal(4, store.Current!.Spec.LeaseTransitions);
    }

    [Fact]
    public async Task RunAsync_OtherHolderKeepsRenewing_NeverAcquires()
    {
        var time = new FakeTimeProvider();
        var store = new FakeLeaseStore();
        store.Put("other", 15, time.GetUtcNow().UtcDateTime);
        await using var a = new Replica(store, time, "a");
        for (var i = 0; i < 6; i++)
        {
            await Advance(time, TimeSpan.FromSeconds(10));
            store.Put("other", 15, time.GetUtcNow().UtcDateTime, transitions: 0); // a renewal by the other replica
        }
        Assert.False(a.Leading);
        Assert.Equal("other", store.Current!.Spec.HolderIdentity);
    }

    [Fact]
    public async Task RunAsync_TwoReplicasRace_OnlyOneLeads()
    {
        var time = new FakeTimeProvider();
        var store = new FakeLeaseStore();
        store.Put("", 1, time.GetUtcNow().UtcDateTime);
        await using var a = new Replica(store, time, "a");
        await using var b = new Replica(store, time, "b");
        await AdvanceUntil(time, () => a.Leading || b.Leading, TimeSpan.FromSeconds(5), "a leader");
        await Advance(time, TimeSpan.FromSeconds(60));
        Assert.True(a.Leading ^ b.Leading);
        Assert.True(a.Fence.IsHeld ^ b.Fence.IsHeld);
    }

    [Fact]
    public async Task RunAsync_LeaseTakenByAnother_StepsDownAtTheNextRenewal()
    {
        var time = new FakeTimeProvider();
        var store = new FakeLeaseStore();
        await using var a = new Replica(store, time, "a");
        await AdvanceUntil(time, () => a.Leading, TimeSpan.FromSeconds(1), "a leads");
        var term = a.LastTerm;

        store.Put("someone-else", 600, time.GetUtcNow().UtcDateTime.AddMinutes(5));
        var took = await AdvanceUntil(time, () => term.IsCancellationRequested, Timings.RenewDeadline, "a steps down");
        Assert.True(took <= Timings.RetryPeriod + TimeSpan.FromMilliseconds(100), $"took {took}");
        Assert.False(a.Fence.IsHeld);
        Assert.Equal("someone-else", store.Current!.Spec.HolderIdentity);
    }
}
