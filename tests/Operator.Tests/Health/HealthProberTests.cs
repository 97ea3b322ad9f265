using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Health;

public sealed class HealthProberTests
{
    [Fact]
    public async Task Tick_InvalidSpec_NeverCheckedNorEnqueued()
    {
        using var f = new ProberFixture();
        var invalid = ProberFixture.Policy("broken", "primary");
        invalid.Spec.HealthCheck!.Interval = "soon";
        f.Policies.Upsert(invalid);
        f.AddTarget("primary", 2);

        await f.RunAsync(400); // 20 s of fake time, 20 intervals of a valid policy

        Assert.Equal(0, f.Prober.ChecksStarted);
        Assert.Empty(f.Enqueued);
        Assert.Empty(f.Prober.Snapshot(ObjectKey.Of(invalid)));
    }

    [Fact]
    public async Task Tick_NewPolicyNotYetReconciled_NotCheckedUntilTheReconcilerFindsItValid()
    {
        using var f = new ProberFixture();
        // Valid for the prober; only the reconciler can tell whether its Service is another's.
        var policy = ProberFixture.Policy("checkout", "primary");
        f.Policies.Upsert(policy);
        f.AddTarget("primary", 2);
        f.Prober.CheckSoon(ObjectKey.Of(policy)); // what a watch event asks for

        await f.RunAsync(40);
        Assert.Equal(0, f.Prober.ChecksStarted);

        f.Prober.Resume(ObjectKey.Of(policy));
        await f.RunAsync(1);
        Assert.Equal(1, f.Prober.ChecksStarted);
    }

    [Fact]
    public async Task Resume_AfterARestart_FirstCheckSpreadOverOneIntervalInsteadOfAtOnce()
    {
        using var f = new ProberFixture();
        f.AddTarget("primary", 1);
        var keys = new List<ObjectKey>();
        for (var i = 0; i < 20; i++)
        {
            // Checked by a previous process: its status holds a verdict (interval 1 s).
            var policy = ProberFixture.Policy($"app-{i}", "primary");
            policy.Status = new() { Targets = [new() { Name = "primary", Healthy = true, LastTransitionTime = f.Time.GetUtcNow().UtcDateTime }] };
            f.Policies.Upsert(policy);
            keys.Add(ObjectKey.Of(policy));
        }
        // A new policy, never checked: at once.
        f.AddValidPolicy(ProberFixture.Policy("new", "primary"));
        foreach (var key in keys) f.Prober.Resume(key);

        await f.RunAsync(1);
        Assert.Equal(1, f.Prober.ChecksStarted);

        await f.RunAsync(20); // one interval: each restarted policy once, the new one a second time
        Assert.Equal(22, f.Prober.ChecksStarted);
        Assert.All(keys, k => Assert.False(f.Prober.Snapshot(k)["primary"].Seeded));
    }

    [Fact]
    public async Task Tick_ForgottenAsInvalid_NotCheckedUntilResumed()
    {
        using var f = new ProberFixture();
        // Valid for the prober, invalid for the reconciler: its Deployment does not exist.
        var policy = ProberFixture.Policy("missing", "primary");
        f.Policies.Upsert(policy);
        var key = ObjectKey.Of(policy);
        // What the reconciler does with every reconcile of an invalid policy.
        f.Prober.Forget(key);

        await f.RunAsync(400);

        Assert.Equal(0, f.Prober.ChecksStarted);
        Assert.Empty(f.Enqueued);

        // Fixed (the Deployment appeared): the reconciler finds it valid and resumes it.
        f.AddTarget("primary", 1);
        f.Prober.Resume(key);
        await f.RunAsync(1);
        Assert.Equal(1, f.Prober.ChecksStarted);
        Assert.True(f.Prober.Snapshot(key)["primary"].Healthy);
        Assert.Equal([key], f.Enqueued);
    }

    [Fact]
    public async Task Tick_InvalidBesideValid_OnlyTheValidIsChecked()
    {
        using var f = new ProberFixture();
        var invalid = ProberFixture.Policy("missing", "nowhere");
        var valid = ProberFixture.Policy("checkout", "primary");
        f.Policies.Upsert(invalid);
        f.AddValidPolicy(valid);
        f.AddTarget("primary", 2);
        f.Prober.Forget(ObjectKey.Of(invalid));

        await f.RunAsync(200); // 10 s: ten intervals of 1 s

        Assert.InRange(f.Prober.ChecksStarted, 10, 11);
        Assert.Empty(f.Prober.Snapshot(ObjectKey.Of(invalid)));
        Assert.True(f.Prober.Snapshot(ObjectKey.Of(valid))["primary"].Healthy);
        // Enqueued once, for its first verdict; nothing changed after that.
        Assert.Equal([ObjectKey.Of(valid)], f.Enqueued);
    }

    [Fact]
    public async Task Tick_CheckSoonAskedTwice_ChecksOnceThenKeepsTheInterval()
    {
        using var f = new ProberFixture();
        var policy = ProberFixture.Policy("checkout", "primary");
        f.AddValidPolicy(policy);
        f.AddTarget("primary", 2);
        await f.RunAsync(1);
        Assert.Equal(1, f.Prober.ChecksStarted);

        f.Prober.CheckSoon(ObjectKey.Of(policy));
        f.Prober.CheckSoon(ObjectKey.Of(policy));
        await f.RunAsync(1);
        Assert.Equal(2, f.Prober.ChecksStarted);

        await f.RunAsync(19); // just short of the 1 s interval after the second check
        Assert.Equal(2, f.Prober.ChecksStarted);
        await f.RunAsync(1);
        Assert.Equal(3, f.Prober.ChecksStarted);
    }

    [Fact]
    public async Task Tick_CheckStartedLate_NextOneKeepsTheBeatOfTheInterval()
    {
        using var f = new ProberFixture();
        f.AddValidPolicy(ProberFixture.Policy("checkout", "primary"));
        f.AddTarget("primary", 1);
        await Task.WhenAll(f.Prober.Tick()); // t = 0: first check, next due at 1 s
        Assert.Equal(1, f.Prober.ChecksStarted);

        // The loop stood still: the check due at 1 s starts 300 ms late.
        Assert.Equal(2, await f.ChecksAfterAsync(1300));

        // Due at 2 s (one interval after 1 s), not at 2.3 s (one interval after the late start).
        Assert.Equal(2, await f.ChecksAfterAsync(650));
        Assert.Equal(3, await f.ChecksAfterAsync(50));
    }

    [Fact]
    public async Task Tick_CheckStartedMoreThanHalfAnIntervalLate_NextOneAFullIntervalLater()
    {
        using var f = new ProberFixture();
        f.AddValidPolicy(ProberFixture.Policy("checkout", "primary"));
        f.AddTarget("primary", 1);
        await Task.WhenAll(f.Prober.Tick()); // t = 0: first check, next due at 1 s

        // The check due at 1 s starts at 1.8 s: keeping the beat would check again 200 ms later.
        Assert.Equal(2, await f.ChecksAfterAsync(1800));

        Assert.Equal(2, await f.ChecksAfterAsync(950)); // 2.75 s
        Assert.Equal(3, await f.ChecksAfterAsync(50)); // 2.8 s: one interval after the late start
    }

    [Fact]
    public async Task Tick_ManyPoliciesDueAtOnce_StartedInBatchesOfTheInFlightCap_EachOnce()
    {
        using var f = new ProberFixture(maxConcurrentProbes: 2); // at most 4 checks in flight
        for (var i = 0; i < 10; i++)
        {
            f.AddValidPolicy(ProberFixture.Policy($"p{i}", $"t{i}"));
            f.AddTarget($"t{i}", 1);
        }

        var batches = new List<int>();
        for (var pass = 0; pass < 4; pass++)
        {
            var started = f.Prober.Tick();
            batches.Add(started.Count);
            await Task.WhenAll(started);
        }

        Assert.Equal([4, 4, 2, 0], batches);
        Assert.Equal(10, f.Enqueued.Distinct().Count());
        Assert.Equal(2, f.Prober.PassesHeldAtLimit); // the first two passes left due checks waiting
    }

    [Fact]
    public async Task Tick_DeletedPolicy_NotCheckedAgainAndItsVerdictsGo()
    {
        using var f = new ProberFixture();
        var policy = ProberFixture.Policy("checkout", "primary");
        f.AddValidPolicy(policy);
        f.AddTarget("primary", 2);
        await f.RunAsync(1);
        Assert.NotEmpty(f.Prober.Snapshot(ObjectKey.Of(policy)));

        f.Policies.Remove(ObjectKey.Of(policy));
        await f.RunAsync(220); // 11 s: ten intervals, and past the sweep of state of deleted policies

        Assert.Equal(1, f.Prober.ChecksStarted);
        Assert.Empty(f.Prober.Snapshot(ObjectKey.Of(policy)));
    }

    /// <summary>Ten policies of two targets, checked once, all passing.</summary>
    private static async Task<(ProberFixture F, List<ObjectKey> Keys)> TwentyTargetsAsync()
    {
        var f = new ProberFixture();
        var keys = new List<ObjectKey>();
        for (var i = 0; i < 10; i++)
        {
            var policy = ProberFixture.Policy($"p{i}", $"a{i}", $"b{i}");
            f.AddValidPolicy(policy);
            keys.Add(ObjectKey.Of(policy));
            f.AddTarget($"a{i}", 1);
            f.AddTarget($"b{i}", 1);
        }
        await f.RunAsync(1);
        Assert.Null(f.Prober.ObserverSuspect);
        f.Enqueued.Clear();
        return (f, keys);
    }

    private static void SetReady(ProberFixture f, string target, bool ready) => f.AddPod(target, target + "-0", "127.0.0.1", ready: ready);

    [Fact]
    public async Task Tick_EveryTargetTurnsFailingAtOnce_SuspectThenClearsAndEnqueuesEveryPolicy()
    {
        var (f, keys) = await TwentyTargetsAsync();
        using var fixture = f;
        for (var i = 0; i < 10; i++) { SetReady(f, $"a{i}", false); SetReady(f, $"b{i}", false); }

        await f.RunAsync(20); // one interval: each policy checked once more
        Assert.StartsWith("20 of 20 checked targets (100%) failing, having turned failing together", f.Prober.ObserverSuspect);
        await f.RunAsync(20); // the second failure makes the verdicts: still suspect
        Assert.NotNull(f.Prober.ObserverSuspect);
        Assert.All(keys, k => Assert.DoesNotContain(f.Prober.Snapshot(k).Values, h => h.Healthy));

        for (var i = 0; i < 10; i++) { SetReady(f, $"a{i}", true); SetReady(f, $"b{i}", true); }
        f.Enqueued.Clear();
        await f.RunAsync(20);

        Assert.Null(f.Prober.ObserverSuspect);
        Assert.True(keys.ToHashSet().SetEquals(f.Enqueued), string.Join(", ", f.Enqueued));
    }

    [Fact]
    public async Task Tick_OneTargetOfTwentyFails_NotSuspectAndItsPolicyEnqueued()
    {
        var (f, keys) = await TwentyTargetsAsync();
        using var fixture = f;
        SetReady(f, "a3", false);

        await f.RunAsync(40);

        Assert.Null(f.Prober.ObserverSuspect);
        Assert.False(f.Prober.Snapshot(keys[3])["a3"].Healthy);
        Assert.Equal([keys[3]], f.Enqueued.Distinct());
    }

    [Fact]
    public async Task Tick_FailingLongerThanTheWindow_SuspicionHoldsUntilTheShareFalls()
    {
        var (f, _) = await TwentyTargetsAsync();
        using var fixture = f;
        for (var i = 0; i < 10; i++) { SetReady(f, $"a{i}", false); SetReady(f, $"b{i}", false); }
        await f.RunAsync(20);
        Assert.NotNull(f.Prober.ObserverSuspect);

        await f.RunAsync(220); // 11 s: more than the 10 s window since the failures began
        Assert.NotNull(f.Prober.ObserverSuspect);
        f.Enqueued.Clear();

        for (var i = 0; i < 10; i++) { SetReady(f, $"a{i}", true); SetReady(f, $"b{i}", true); }
        await f.RunAsync(40);

        Assert.Null(f.Prober.ObserverSuspect);
        Assert.Equal(10, f.Enqueued.Distinct().Count());
    }
}
