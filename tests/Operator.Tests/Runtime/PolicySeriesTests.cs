using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public sealed class PolicySeriesTests
{
    // Families register once per process under their name: each test uses its own.
    private static string Unique(string name) => $"test_{name}_{Guid.NewGuid():N}";

    [Fact]
    public async Task Export_GaugeSeries_InTheTextFormatAfterTheRegistry()
    {
        var name = Unique("ready");
        var gauge = new PolicySeries(name, "1 when ready.");
        gauge.Set("shop", "web", 1);
        gauge.Set("shop", "db", 0.25);

        var text = await PolicySeriesExport.TextAsync();

        Assert.Contains($"# HELP {name} 1 when ready.\n# TYPE {name} gauge\n", text, StringComparison.Ordinal);
        Assert.Contains($"{name}{{namespace=\"shop\",policy=\"web\"}} 1\n", text, StringComparison.Ordinal);
        Assert.Contains($"{name}{{namespace=\"shop\",policy=\"db\"}} 0.25\n", text, StringComparison.Ordinal);
        // The registry's own families come first, unchanged.
        Assert.True(text.IndexOf("# TYPE process_", StringComparison.Ordinal) is >= 0 and var p && p < text.IndexOf(name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Export_CounterWithThirdLabel_IncrementedAndEscaped()
    {
        var name = Unique("probes_total");
        var counter = new PolicySeries(name, "Probes.", counter: true, extraLabel: "result");
        counter.Inc("shop", "we\"b\\", "success");
        counter.Inc("shop", "we\"b\\", "success");
        counter.Inc("shop", "we\"b\\", "failure");

        var text = await PolicySeriesExport.TextAsync();

        Assert.Contains($"# TYPE {name} counter\n", text, StringComparison.Ordinal);
        Assert.Contains($"{name}{{namespace=\"shop\",policy=\"we\\\"b\\\\\",result=\"success\"}} 2\n", text, StringComparison.Ordinal);
        Assert.Contains($"{name}{{namespace=\"shop\",policy=\"we\\\"b\\\\\",result=\"failure\"}} 1\n", text, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => counter.Set("shop", "web", "success", 5));
    }

    [Fact]
    public async Task RemovePolicy_EverySeriesOfThePolicyGoes_OthersStay()
    {
        var name = Unique("target_healthy");
        var gauge = new PolicySeries(name, "Healthy.", extraLabel: "target");
        gauge.Set("shop", "web", "primary", 1);
        gauge.Set("shop", "web", "standby", 0);
        gauge.Set("shop", "web2", "primary", 1);

        gauge.RemovePolicy("shop", "web");

        var text = await PolicySeriesExport.TextAsync();
        Assert.DoesNotContain($"{name}{{namespace=\"shop\",policy=\"web\",", text, StringComparison.Ordinal);
        Assert.Contains($"{name}{{namespace=\"shop\",policy=\"web2\",target=\"primary\"}} 1\n", text, StringComparison.Ordinal);
        Assert.Equal(1, gauge.Count);
        Assert.Null(gauge.Value("shop", "web", "primary"));
    }

    [Fact]
    public void Series_WrongNumberOfLabels_Refused()
    {
        var plain = new PolicySeries(Unique("plain"), "Plain.");
        var withTarget = new PolicySeries(Unique("with_target"), "With a target.", extraLabel: "target");
        Assert.Throws<ArgumentException>(() => plain.Set("shop", "web", "primary", 1));
        Assert.Throws<ArgumentException>(() => withTarget.Set("shop", "web", 1));
    }

    [Fact]
    public void Family_SameNameTwice_Refused()
    {
        var name = Unique("twice");
        _ = new PolicySeries(name, "Once.");
        Assert.Throws<InvalidOperationException>(() => new PolicySeries(name, "Twice."));
    }

    [Theory]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(1732912345.125, "1732912345.125")]
    public void Format_SpecialAndLargeValues(double value, string text) => Assert.Equal(text, PolicySeries.Format(value));
}
