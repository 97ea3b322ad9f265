using ResilienceOperator.Entities;
using ResilienceOperator.Planning;

namespace ResilienceOperator.Tests.Planning;

public sealed class TargetHealthTests
{
    private static readonly DateTime T0 = new(2026, 11, 23, 3, 0, 0, DateTimeKind.Utc);
    private static CheckResult Pass => new(true, 3, 3, 3, "ok");
    private static CheckResult Fail => new(false, 3, 0, 0, "0/3 ready");

    [Fact]
    public void Next_RetriesConsecutiveFailures_TurnsUnhealthyOnlyAtRetries()
    {
        var h = TargetHealth.Next(null, Pass, retries: 3, successThreshold: 1, T0);
        h = TargetHealth.Next(h, Fail, 3, 1, T0.AddSeconds(1));
        Assert.True(h.Healthy);
        h = TargetHealth.Next(h, Fail, 3, 1, T0.AddSeconds(2));
        Assert.True(h.Healthy);
        h = TargetHealth.Next(h, Fail, 3, 1, T0.AddSeconds(3));
        Assert.False(h.Healthy);
        Assert.Equal(T0.AddSeconds(1), h.FirstFailureTime);
        Assert.Equal(T0.AddSeconds(3), h.LastTransitionTime);
    }

    [Fact]
    public void Next_ColdStandby_SameVerdictForStatusFromTheFirstCheckOn()
    {
        var cold = new CheckResult(false, 0, 0, 0, "scaled to zero", Cold: true);
        var first = TargetHealth.Next(null, cold, retries: 2, successThreshold: 1, T0);
        var second = TargetHealth.Next(first, cold, 2, 1, T0.AddSeconds(10));

        Assert.Equal(0, first.ConsecutiveFailures);
        Assert.Null(first.FirstFailureTime);
        Assert.False(second.DiffersForStatus(first)); // no second status write at the second check
    }

    [Fact]
    public void Next_FailureInterruptedBySuccess_StartsCountingAgain()
    {
        var h = TargetHealth.Next(null, Pass, 2, 1, T0);
        h = TargetHealth.Next(h, Fail, 2, 1, T0.AddSeconds(1));
        h = TargetHealth.Next(h, Pass, 2, 1, T0.AddSeconds(2));
        h = TargetHealth.Next(h, Fail, 2, 1, T0.AddSeconds(3));
        Assert.True(h.Healthy);
        Assert.Equal(1, h.ConsecutiveFailures);
        Assert.Equal(T0.AddSeconds(3), h.FirstFailureTime);
    }

    [Fact]
    public void Next_SuccessThreshold_NeedsThatManySuccessesToRecover()
    {
        var h = TargetHealth.Next(null, Fail, 1, 2, T0);
        Assert.False(h.Healthy);
        h = TargetHealth.Next(h, Pass, 1, 2, T0.AddSeconds(1));
        Assert.False(h.Healthy);
        h = TargetHealth.Next(h, Pass, 1, 2, T0.AddSeconds(2));
        Assert.True(h.Healthy);
        Assert.Equal(T0.AddSeconds(2), h.LastTransitionTime);
    }

    [Fact]
    public void DiffersForStatus_SameVerdict_IsFalse()
    {
        var a = TargetHealth.Next(null, Pass, 2, 1, T0);
        var b = TargetHealth.Next(a, Pass, 2, 1, T0.AddSeconds(1));
        Assert.False(b.DiffersForStatus(a));
        Assert.True(TargetHealth.Next(b, Fail, 2, 1, T0.AddSeconds(2)).DiffersForStatus(b));
    }

    [Fact]
    public void DiffersForStatus_ReadyPodsChangeWhileHealthy_IsTrue()
    {
        // ready capacity is what graceful degradation acts on: a lost pod must wake the reconciler
        var a = TargetHealth.Next(null, Pass, 2, 1, T0);
        var b = TargetHealth.Next(a, new CheckResult(true, 3, 2, 2, "2/3 pods pass"), 2, 1, T0.AddSeconds(1));
        Assert.True(b.Healthy);
        Assert.True(b.DiffersForStatus(a));
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("5s", 5000)]
    [InlineData("2m", 120000)]
    [InlineData("1h30m", 5400000)]
    [InlineData("1.5s", 1500)]
    public void GoDuration_TryParse_ValidForms(string text, int ms)
    {
        Assert.True(GoDuration.TryParse(text, out var d));
        Assert.Equal(ms, d.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("5 seconds")]
    [InlineData("s5")]
    [InlineData("5sx")]
    public void GoDuration_TryParse_RejectsOtherText(string text) => Assert.False(GoDuration.TryParse(text, out _));
}
