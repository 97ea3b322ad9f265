using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public sealed class LeaderElectionOptionsTests
{
    [Fact]
    public void Parse_NoDurations_ControllerRuntimeDefaults()
    {
        var o = OperatorOptions.Parse(["--leader-elect"]);
        Assert.Equal(new LeaderElectionTimings(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2)), o.LeaderElectionTimings);
    }

    [Fact]
    public void Parse_Durations_Set()
    {
        var o = OperatorOptions.Parse(["--leader-elect", "--lease-duration", "30s", "--renew-deadline", "20s", "--retry-period", "500ms"]);
        Assert.Equal(new LeaderElectionTimings(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(500)), o.LeaderElectionTimings);
    }

    [Theory]
    [InlineData("--renew-deadline", "15s")] // not below the lease duration: no margin for a paused leader
    [InlineData("--retry-period", "9s")]    // a jittered retry would outlast the renew deadline
    [InlineData("--lease-duration", "soon")]
    public void Parse_UnsafeOrInvalidDurations_Rejected(string option, string value) =>
        Assert.Throws<ArgumentException>(() => OperatorOptions.Parse(["--leader-elect", option, value]));
}
