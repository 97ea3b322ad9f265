using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Planning;

public sealed class ObserverGuardTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 3, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(3); // interval 1s × (retries 2 + 1): below the 10 s floor

    /// <summary>Twenty targets, two per policy, all passing.</summary>
    private static ObserverGuard<ObjectKey> Passing(int targets = 20, double threshold = 0.55, int minTargets = 3)
    {
        var guard = new ObserverGuard<ObjectKey>(threshold, minTargets);
        for (var i = 0; i < targets; i++) guard.Record(Policy(i), Target(i), true, false, T0, Window);
        return guard;
    }

    private static ObjectKey Policy(int i) => new("shop", $"p{i / 2}");

    private static string Target(int i) => i % 2 == 0 ? "primary" : "standby";

    private static void Fail(ObserverGuard<ObjectKey> guard, int from, int count, DateTimeOffset at)
    {
        for (var i = from; i < from + count; i++) guard.Record(Policy(i), Target(i), false, true, at, Window);
    }

    [Fact]
    public void Evaluate_TwentyTargetsTurnFailingAtOnce_Suspect()
    {
        var guard = Passing();
        Fail(guard, 0, 20, T0.AddSeconds(1));

        var (state, changed) = guard.Evaluate(T0.AddSeconds(1));

        Assert.True(state.Suspect);
        Assert.True(changed);
        Assert.Equal(1.0, state.Share);
        Assert.Equal(TimeSpan.FromSeconds(10), state.Window);
        Assert.StartsWith("20 of 20 checked targets (100%) failing, having turned failing together within 10s, above the observer-suspect threshold of 55%", state.Message);
        Assert.False(guard.Evaluate(T0.AddSeconds(2)).Changed); // told once
    }

    [Fact]
    public void Evaluate_OneOfTwentyFails_NotSuspect()
    {
        var guard = Passing();
        Fail(guard, 0, 1, T0.AddSeconds(1));

        var (state, changed) = guard.Evaluate(T0.AddSeconds(1));

        Assert.False(state.Suspect);
        Assert.False(changed);
        Assert.Equal(0.05, state.Share, 6);
        Assert.Null(state.Message);
    }

    [Fact]
    public void Evaluate_ElevenOfTwentyAtThreshold_NotSuspectTwelveIs()
    {
        var guard = Passing();
        Fail(guard, 0, 11, T0.AddSeconds(1));
        Assert.False(guard.Evaluate(T0.AddSeconds(1)).State.Suspect); // 0.55 is not above 0.55
        Fail(guard, 11, 1, T0.AddSeconds(2));
        Assert.True(guard.Evaluate(T0.AddSeconds(2)).State.Suspect);
    }

    [Fact]
    public void Evaluate_TargetsRecoverBelowThreshold_ClearsOnce()
    {
        var guard = Passing();
        Fail(guard, 0, 20, T0.AddSeconds(1));
        Assert.True(guard.Evaluate(T0.AddSeconds(1)).State.Suspect);
        for (var i = 0; i < 12; i++) guard.Record(Policy(i), Target(i), true, false, T0.AddSeconds(2), Window);

        var (state, changed) = guard.Evaluate(T0.AddSeconds(2));

        Assert.False(state.Suspect);
        Assert.True(changed);
        Assert.Equal(0.4, state.Share, 6);
        Assert.False(guard.Evaluate(T0.AddSeconds(3)).Changed);
    }

    [Fact]
    public void Evaluate_FailingLongerThanTheWindow_HoldsWhileMostStillFail()
    {
        var guard = Passing();
        Fail(guard, 0, 20, T0.AddSeconds(1));
        Assert.True(guard.Evaluate(T0.AddSeconds(11)).State.Suspect);
        // Still failing, checked again: the failures began more than a window ago.
        Fail(guard, 0, 20, T0.AddSeconds(12));

        var (state, changed) = guard.Evaluate(T0.AddMinutes(5));

        Assert.True(state.Suspect);
        Assert.False(changed);
        Assert.Equal(1, state.Share);
    }

    [Fact]
    public void Evaluate_NotSuspectAndTargetsFailedLongAgo_NotSuspect()
    {
        var guard = Passing();
        Fail(guard, 0, 20, T0.AddSeconds(1));
        // Never evaluated while the failures were recent: old failures do not start a suspicion.
        Assert.False(guard.Evaluate(T0.AddMinutes(5)).State.Suspect);
    }

    [Fact]
    public void Evaluate_FewerThanMinTargetsTurnFailing_NotSuspect()
    {
        var guard = Passing(targets: 2);
        Fail(guard, 0, 2, T0.AddSeconds(1));
        Assert.False(guard.Evaluate(T0.AddSeconds(1)).State.Suspect);
        var three = Passing(targets: 3);
        Fail(three, 0, 3, T0.AddSeconds(1));
        Assert.True(three.Evaluate(T0.AddSeconds(1)).State.Suspect);
    }

    [Fact]
    public void Evaluate_ThresholdOne_NeverSuspect()
    {
        var guard = Passing(threshold: 1);
        Fail(guard, 0, 20, T0.AddSeconds(1));
        Assert.False(guard.Evaluate(T0.AddSeconds(1)).State.Suspect);
    }

    [Fact]
    public void Record_NeverPassedOrForgotten_NotCounted()
    {
        var guard = Passing(targets: 10);
        // Ten new targets failing from their first check (starting up): not a turn from passing.
        for (var i = 10; i < 20; i++) guard.Record(Policy(i), Target(i), false, false, T0.AddSeconds(1), Window);
        Fail(guard, 0, 5, T0.AddSeconds(1));
        Assert.Equal(0.25, guard.Evaluate(T0.AddSeconds(1)).State.Share, 6);
        // Forgotten policies (invalid, deleted) leave the denominator too.
        for (var p = 5; p < 10; p++) guard.Forget(Policy(p * 2));
        Assert.Equal(0.5, guard.Evaluate(T0.AddSeconds(1)).State.Share, 6);
    }
}
