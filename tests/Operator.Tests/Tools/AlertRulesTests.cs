namespace ResilienceOperator.Tests.Tools;

/// <summary>The shipped alerts, checked and unit-tested with the real promtool.</summary>
public sealed class AlertRulesTests
{
    private static string AlertsDir => Path.Combine(Tool.RepoRoot(), "tests", "Operator.Tests", "Alerts");

    [Fact]
    public async Task PromtoolCheckRules_AcceptsTheRuleFile()
    {
        var (code, output) = await Tool.RunAsync("promtool", Tool.RepoRoot(), "check", "rules", "charts/resilience-operator/files/alerts/resilience-operator.rules.yaml");
        Assert.True(code == 0, output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromtoolTestRules_AlertsFireOnTheOperatorsSeries()
    {
        var (code, output) = await Tool.RunAsync("promtool", AlertsDir, "test", "rules", "resilience-operator.rules.test.yaml");
        Assert.True(code == 0, output);
    }

    [Fact]
    public async Task PromtoolTestRules_FailsWhenAnExpectationIsWrong()
    {
        // The unit tests above can fail: the same file with one expectation changed does.
        var original = await File.ReadAllTextAsync(Path.Combine(AlertsDir, "resilience-operator.rules.test.yaml"));
        var broken = Path.Combine(AlertsDir, $"broken-{Guid.NewGuid():N}.test.yaml");
        await File.WriteAllTextAsync(broken, original.Replace("exp_labels: {severity: critical}", "exp_labels: {severity: warning}", StringComparison.Ordinal));
        try
        {
            var (code, output) = await Tool.RunAsync("promtool", AlertsDir, "test", "rules", Path.GetFileName(broken));
            Assert.NotEqual(0, code);
            Assert.Contains("ResilienceOperatorDown", output, StringComparison.Ordinal);
        }
        finally { File.Delete(broken); }
    }
}
