using System.Net;
using k8s.Autorest;
using ResilienceOperator.Entities;
using ResilienceOperator.Health;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Health;

/// <summary>Real probes against loopback listeners; timeouts run on the fake clock.</summary>
public sealed class ProbeTests
{
    /// <summary>A bound on waiting for something that must already be done; never reached when the code is right.</summary>
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    private static EffectiveSpec Spec(string timeout = "500ms", int? httpPort = null, int? tcpPort = null)
    {
        var policy = ProberFixture.Policy("p", "primary");
        policy.Spec.HealthCheck = new HealthCheckSpec
        {
            Interval = "1m", Timeout = timeout,
            Http = httpPort is { } h ? new HttpProbeSpec { Port = h, Path = "/healthz" } : null,
            Tcp = tcpPort is { } t ? new TcpProbeSpec { Port = t } : null,
        };
        var (spec, error) = EffectiveSpec.From(policy.Spec);
        Assert.Null(error);
        return spec!;
    }

    private static readonly ObjectKey A = new("shop", "a");
    private static readonly ObjectKey B = new("shop", "b");

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task ProbeAsync_HttpAnswers200_Passes(string ip)
    {
        using var server = new LoopbackServer(IPAddress.Parse(ip));
        using var f = new ProberFixture();
        var pod = f.AddPod("primary", "primary-0", ip);
        Assert.Null(await f.Prober.ProbeAsync(A, Spec(httpPort: server.Port), pod, CancellationToken.None).WaitAsync(Guard));
    }

    [Fact]
    public async Task ProbeAsync_KeepAliveServer_ConnectionClosedAfterTheProbe()
    {
        // One connection per probe: a connection held open per pod between checks costs a socket and
        // two buffers each, for every pod of every policy.
        using var server = new LoopbackServer(IPAddress.Loopback, keepAlive: true);
        using var f = new ProberFixture();
        var pod = f.AddPod("primary", "primary-0", "127.0.0.1");
        Assert.Null(await f.Prober.ProbeAsync(A, Spec(httpPort: server.Port), pod, CancellationToken.None).WaitAsync(Guard));
        Assert.Contains("Connection: close", server.LastRequest, StringComparison.Ordinal);
        await server.ClientClosed.WaitAsync(Guard);
    }

    [Fact]
    public async Task ProbeAsync_HttpAnswers503OnIpv6_FailsNamingTheBracketedAddress()
    {
        using var server = new LoopbackServer(IPAddress.IPv6Loopback, 503);
        using var f = new ProberFixture();
        var pod = f.AddPod("primary", "primary-0", "::1");
        var error = await f.Prober.ProbeAsync(A, Spec(httpPort: server.Port), pod, CancellationToken.None).WaitAsync(Guard);
        Assert.Equal($"HTTP 503 from [::1]:{server.Port}/healthz", error);
    }

    [Fact]
    public async Task ProbeAsync_CountedPerPolicyAndResult_TheSeriesGoWithTheForgottenPolicy()
    {
        using var ok = new LoopbackServer(IPAddress.Loopback);
        using var failing = new LoopbackServer(IPAddress.Loopback, 503);
        using var f = new ProberFixture();
        var key = new ObjectKey("probe-metrics", "counted");
        var pod = f.AddPod("primary", "primary-0", "127.0.0.1");
        await f.Prober.ProbeAsync(key, Spec(httpPort: ok.Port), pod, CancellationToken.None).WaitAsync(Guard);
        await f.Prober.ProbeAsync(key, Spec(httpPort: failing.Port), pod, CancellationToken.None).WaitAsync(Guard);

        var text = await MetricsTextAsync();
        Assert.Contains("resilience_probes_total{namespace=\"probe-metrics\",policy=\"counted\",result=\"success\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("resilience_probes_total{namespace=\"probe-metrics\",policy=\"counted\",result=\"failure\"} 1", text, StringComparison.Ordinal);
        // The latency histogram has no series per policy.
        Assert.Contains("resilience_probe_duration_seconds_count{namespace=\"probe-metrics\",result=\"failure\"}", text, StringComparison.Ordinal);

        f.Prober.Forget(key);
        Assert.DoesNotContain("policy=\"counted\"", await MetricsTextAsync(), StringComparison.Ordinal);
    }

    /// <summary>What /metrics serves.</summary>
    private static Task<string> MetricsTextAsync() => ResilienceOperator.Runtime.PolicySeriesExport.TextAsync();

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task ProbeAsync_TcpListening_PassesAndClosedPortFails(string ip)
    {
        var address = IPAddress.Parse(ip);
        using var server = new LoopbackServer(address, status: null);
        using var f = new ProberFixture();
        var pod = f.AddPod("primary", "primary-0", ip);
        Assert.Null(await f.Prober.ProbeAsync(A, Spec(tcpPort: server.Port), pod, CancellationToken.None).WaitAsync(Guard));
        var refused = await f.Prober.ProbeAsync(A, Spec(tcpPort: LoopbackServer.ClosedPort(address)), pod, CancellationToken.None).WaitAsync(Guard);
        Assert.NotNull(refused);
        Assert.StartsWith(ip + ":", refused);
    }

    [Fact]
    public async Task ProbeAsync_HungTarget_FailsWhenTheTimeoutPasses()
    {
        using var server = new LoopbackServer(IPAddress.Loopback, status: null);
        using var f = new ProberFixture();
        var pod = f.AddPod("primary", "primary-0", "127.0.0.1");
        var probe = f.Prober.ProbeAsync(A, Spec(timeout: "2s", httpPort: server.Port), pod, CancellationToken.None);
        f.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("no answer from 127.0.0.1 within 2s", await probe.WaitAsync(Guard));
    }

    [Fact]
    public async Task ProbeAsync_TimedOutWhileTheCollectorPausedTheOperator_RepeatedAndTheAnswerCounts()
    {
        using var server = new LoopbackServer(IPAddress.Loopback, hangFirst: 1);
        using var f = new ProberFixture();
        var pod = f.AddPod("primary", "primary-0", "127.0.0.1");
        var probe = f.Prober.ProbeAsync(A, Spec(timeout: "1s", httpPort: server.Port), pod, CancellationToken.None);
        await WaitUntilAsync(() => server.Connections == 1);

        f.RuntimePaused += TimeSpan.FromMilliseconds(300);
        f.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Null(await probe.WaitAsync(Guard));
        Assert.Equal(2, server.Connections);
    }

    [Fact]
    public async Task ProbeAsync_TimeoutNoticedLate_RepeatedOnce()
    {
        using var server = new LoopbackServer(IPAddress.Loopback, status: null);
        using var f = new ProberFixture();
        var pod = f.AddPod("primary", "primary-0", "127.0.0.1");
        var probe = f.Prober.ProbeAsync(A, Spec(timeout: "1s", httpPort: server.Port), pod, CancellationToken.None);
        await WaitUntilAsync(() => server.Connections == 1);

        // The timer fires 300 ms after the timeout: the process stood still past it.
        f.Time.Advance(TimeSpan.FromMilliseconds(1300));
        await WaitUntilAsync(() => server.Connections == 2);
        Assert.False(probe.IsCompleted);
        f.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("no answer from 127.0.0.1 within 1s", await probe.WaitAsync(Guard));
        Assert.Equal(2, server.Connections);
    }

    [Theory]
    [InlineData(1000, 100)]
    [InlineData(200, 50)]
    public void StallAllowance_AQuarterOfTheTimeoutAtMost100Ms(int timeoutMs, int allowanceMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(allowanceMs), HealthProber.StallAllowance(TimeSpan.FromMilliseconds(timeoutMs)));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(Guard);
        while (!condition()) await Task.Delay(5, deadline.Token);
    }

    [Fact]
    public async Task ProbeAsync_NoSlotFreeWithinTimeout_FailsAtItsOwnTimeout()
    {
        using var hung = new LoopbackServer(IPAddress.Loopback, status: null);
        using var ok = new LoopbackServer(IPAddress.Loopback);
        using var f = new ProberFixture(maxConcurrentProbes: 1);
        var pod = f.AddPod("primary", "primary-0", "127.0.0.1");
        var holder = f.Prober.ProbeAsync(A, Spec(timeout: "30s", httpPort: hung.Port), pod, CancellationToken.None);
        var waiting = f.Prober.ProbeAsync(B, Spec(timeout: "1s", httpPort: ok.Port), pod, CancellationToken.None);

        f.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("127.0.0.1 not probed: no probe slot free within 1s", await waiting.WaitAsync(Guard));
        Assert.False(holder.IsCompleted);
        f.Time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal("no answer from 127.0.0.1 within 30s", await holder.WaitAsync(Guard));
    }

    [Fact]
    public async Task ProbeAsync_OnePolicyWithManyHungPods_OtherPolicyStillProbesAtOnce()
    {
        using var hung = new LoopbackServer(IPAddress.Loopback, status: null);
        using var ok = new LoopbackServer(IPAddress.Loopback);
        using var f = new ProberFixture(maxConcurrentProbes: 4, maxProbesPerTarget: 2);
        var pod = f.AddPod("primary", "primary-0", "127.0.0.1");
        var hungSpec = Spec(timeout: "30s", httpPort: hung.Port);
        using var slotsOfA = f.Prober.TargetSlots();
        var stuck = Enumerable.Range(0, 6).Select(_ => f.Prober.ProbeAsync(A, hungSpec, pod, CancellationToken.None, slotsOfA)).ToList();

        // Policy A holds 2 of the 4 shared slots, however many pods hang: B finds one free.
        Assert.Null(await f.Prober.ProbeAsync(B, Spec(timeout: "30s", httpPort: ok.Port), pod, CancellationToken.None).WaitAsync(Guard));

        f.Time.Advance(TimeSpan.FromSeconds(30));
        var errors = await Task.WhenAll(stuck).WaitAsync(Guard);
        Assert.Equal(2, errors.Count(e => e == "no answer from 127.0.0.1 within 30s"));
        Assert.Equal(4, errors.Count(e => e == "127.0.0.1 not probed: no probe slot free within 30s"));
    }

    [Fact]
    public async Task ProbeAsync_PrimaryWithManyHungPods_SamePolicysStandbyStillProbesAtOnce()
    {
        using var hung = new LoopbackServer(IPAddress.Loopback, status: null);
        using var ok = new LoopbackServer(IPAddress.Loopback);
        using var f = new ProberFixture(maxConcurrentProbes: 4, maxProbesPerTarget: 2);
        var pod = f.AddPod("primary", "primary-0", "127.0.0.1");
        using var primarySlots = f.Prober.TargetSlots();
        using var standbySlots = f.Prober.TargetSlots();
        var stuck = Enumerable.Range(0, 6)
            .Select(_ => f.Prober.ProbeAsync(A, Spec(timeout: "30s", httpPort: hung.Port), pod, CancellationToken.None, primarySlots)).ToList();

        // The failover candidate of the same policy is not starved by its hung primary.
        Assert.Null(await f.Prober.ProbeAsync(A, Spec(timeout: "30s", httpPort: ok.Port), pod, CancellationToken.None, standbySlots).WaitAsync(Guard));

        f.Time.Advance(TimeSpan.FromSeconds(30));
        await Task.WhenAll(stuck).WaitAsync(Guard);
    }

    [Fact]
    public async Task Tick_GateWriteFails_VerdictKeptAndWriteRetriedNextInterval()
    {
        using var f = new ProberFixture();
        var policy = ProberFixture.Policy("spread", "east", "west");
        policy.Spec.Mode = ResilienceMode.ActiveActive;
        f.AddValidPolicy(policy);
        f.AddTarget("east", 1, readinessGate: true);
        f.AddTarget("west", 1, readinessGate: true);
        f.Gates.Fail = new HttpOperationException("Operation returned an invalid status code 'Conflict'");
        var key = ObjectKey.Of(policy);

        await f.RunAsync(1);

        var health = f.Prober.Snapshot(key);
        Assert.True(health["east"].Healthy);
        Assert.True(health["west"].Healthy);
        Assert.Equal([key], f.Enqueued);
        Assert.Equal(2, f.Gates.Writes.Count);

        await f.RunAsync(20); // one interval later the gates are still not set: written again
        Assert.Equal(4, f.Gates.Writes.Count);
        Assert.All(f.Gates.Writes, w => Assert.True(w.Healthy));
        Assert.Equal([key], f.Enqueued);
    }
}
