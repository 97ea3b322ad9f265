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

    [Fact]
    public void Parse_WebhookOptions_DefaultsAndSet()
    {
        var d = OperatorOptions.Parse([]);
        // Off unless asked for (the chart asks): a bare `dotnet run` makes no Secret and patches no configuration.
        Assert.Equal((0, "resilience-operator-webhook-tls", "resilience-operator-webhook", null), (d.WebhookPort, d.WebhookSecret, d.WebhookService, d.WebhookCertDir));
        Assert.Equal(["resilience-operator"], d.WebhookConfigurations);
        var o = OperatorOptions.Parse(["--webhook-port", "9443", "--webhook-secret", "s", "--webhook-configuration", "a, b", "--webhook-service", "svc", "--webhook-cert-dir", "/certs"]);
        Assert.Equal((9443, "s", "svc", "/certs"), (o.WebhookPort, o.WebhookSecret, o.WebhookService, o.WebhookCertDir));
        Assert.Equal(["a", "b"], o.WebhookConfigurations);
        Assert.Contains("--webhook-port", Assert.Throws<ArgumentException>(() => OperatorOptions.Parse(["--webhook-port", "70000"])).Message);
        Assert.Contains("--webhook-port", Assert.Throws<ArgumentException>(() => OperatorOptions.Parse(["--port", "9443", "--webhook-port", "9443"])).Message);
    }
}
