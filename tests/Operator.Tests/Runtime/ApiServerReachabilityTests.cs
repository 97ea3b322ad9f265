using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public sealed class ApiServerReachabilityTests
{
    [Fact]
    public void Answered_WithoutAFailureBefore_WakesNobody()
    {
        var r = new ApiServerReachability();
        var next = r.NextAnswer;
        r.Answered();
        Assert.False(next.IsCompleted);
    }

    [Fact]
    public void Answered_AfterAFailure_WakesEveryWaiterOnce()
    {
        var r = new ApiServerReachability();
        var first = r.NextAnswer;
        r.Failed();
        r.Answered();
        Assert.True(first.IsCompletedSuccessfully);
        var second = r.NextAnswer;
        r.Answered(); // no failure since: nothing to wake
        Assert.False(second.IsCompleted);
    }
}
