using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

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

    [Fact]
    public async Task EveryAlert_HasARunbookUrlToItsOwnSectionOfDocsRunbook()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(await File.ReadAllTextAsync(Path.Combine(Tool.RepoRoot(), "charts", "resilience-operator", "files", "alerts", "resilience-operator.rules.yaml"))));
        var rules = ((YamlSequenceNode)((YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["groups"])[0])["rules"]).Children.Cast<YamlMappingNode>().ToList();
        var runbook = await File.ReadAllTextAsync(Path.Combine(Tool.RepoRoot(), "docs", "runbook.md"));
        var sections = Regex.Matches(runbook, "(?m)^## (\\w+)$").Select(m => m.Groups[1].Value).ToList();
        var problems = new List<string>();
        foreach (var rule in rules)
        {
            var alert = ((YamlScalarNode)rule["alert"]).Value!;
            var annotations = (YamlMappingNode)rule["annotations"];
            if (!annotations.Children.TryGetValue("runbook_url", out var url)) { problems.Add(alert + ": no runbook_url"); continue; }
            var expected = "https://github.com/resilience-operator/resilience-operator/blob/main/docs/runbook.md#" + alert.ToLowerInvariant();
            if (((YamlScalarNode)url).Value != expected) problems.Add($"{alert}: runbook_url {((YamlScalarNode)url).Value}, expected {expected}");
            if (!sections.Contains(alert)) { problems.Add(alert + ": no section '## " + alert + "' in docs/runbook.md"); continue; }
            var body = runbook[(runbook.IndexOf("## " + alert + "\n", StringComparison.Ordinal) + 3)..];
            var next = body.IndexOf("\n## ", StringComparison.Ordinal);
            if (next >= 0) body = body[..next];
            foreach (var part in new[] { "**Meaning.**", "**Impact.**", "**Diagnosis.**", "**Mitigation.**" })
                if (!body.Contains(part, StringComparison.Ordinal)) problems.Add($"{alert}: its runbook section has no {part}");
        }
        foreach (var section in sections.Where(s => !rules.Any(r => ((YamlScalarNode)r["alert"]).Value == s)))
            problems.Add($"docs/runbook.md: section {section} has no alert");
        Assert.Empty(problems);
    }
}
