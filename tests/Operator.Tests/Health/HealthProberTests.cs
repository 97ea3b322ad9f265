using ResilienceOperator.Entities;
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
        f.Policies.Upsert(valid);
        f.AddTarget("primary", 2);
        f.Prober.Forget(ObjectKey.Of(invalid));

        await f.RunAsync(200); // 10 s: ten intervals of 1 s

        Assert.InRange(f.Prober.ChecksStarted, 10, 11);
        Assert.Empty(f.Prober.Snapshot(ObjectKey.Of(invalid)));
        Assert.True(f.Prober.Snapshot(ObjectKey.Of(valid))["primary"].Healthy);
        // Enqueued once, for its first verdict; nothing changed after that.
        Assert.Equal([ObjectKey.Of(valid)], f.Enqueued);
    }
}
