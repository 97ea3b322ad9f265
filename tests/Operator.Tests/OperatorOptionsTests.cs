namespace ResilienceOperator.Tests;

public sealed class OperatorOptionsTests
{
    [Fact]
    public void Parse_NoObserverOptions_Defaults()
    {
        var o = OperatorOptions.Parse([]);
        Assert.Equal(0.55, o.ObserverSuspectThreshold);
        Assert.Equal(3, o.ObserverSuspectMinTargets);
    }

    [Fact]
    public void Parse_ObserverOptions_Set()
    {
        var o = OperatorOptions.Parse(["--observer-suspect-threshold", "1", "--observer-suspect-min-targets", "5"]);
        Assert.Equal(1.0, o.ObserverSuspectThreshold);
        Assert.Equal(5, o.ObserverSuspectMinTargets);
    }

    [Theory]
    [InlineData("--observer-suspect-threshold", "1.5")]
    [InlineData("--observer-suspect-threshold", "-0.1")]
    [InlineData("--observer-suspect-threshold", "NaN")]
    [InlineData("--observer-suspect-min-targets", "0")]
    public void Parse_ObserverOptionOutOfRange_Throws(string option, string value)
    {
        var ex = Assert.Throws<ArgumentException>(() => OperatorOptions.Parse([option, value]));
        Assert.Contains(option, ex.Message);
    }

    [Fact]
    public void Usage_ObserverOptions_Documented()
    {
        Assert.Contains("--observer-suspect-threshold", OperatorOptions.Usage);
        Assert.Contains("--observer-suspect-min-targets", OperatorOptions.Usage);
    }
}
