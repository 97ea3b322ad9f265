using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace ResilienceOperator.Tests.Tools;

/// <summary>
/// The Argo CD resource actions of ResiliencePolicy (config/argocd/resilience.dev/ResiliencePolicy/actions),
/// run by Lua 5.1 in Argo CD's sandbox against the cases in action_test.yaml: which actions
/// discovery.lua offers (and disables), and what each action.lua returns — the patched policy, or
/// the resources it creates.
/// </summary>
public sealed class ArgoActionTests
{
    private static string Dir => Path.Combine(ArgoLua.KindDir("ResiliencePolicy"), "actions");

    private static YamlMappingNode TestFile() => (YamlMappingNode)ArgoLua.LoadYaml(Path.Combine(Dir, "action_test.yaml"));

    public static TheoryData<string, string> DiscoveryCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var test in ((YamlSequenceNode)TestFile()["discoveryTests"]).Cast<YamlMappingNode>())
        {
            var expected = ((YamlSequenceNode)test["result"]).Cast<YamlMappingNode>()
                .Select(r => $"{((YamlScalarNode)r["name"]).Value}={((YamlScalarNode)r["disabled"]).Value}");
            data.Add(((YamlScalarNode)test["inputPath"]).Value!, string.Join(",", expected));
        }
        return data;
    }

    public static TheoryData<string, string, string> ActionCases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var test in ((YamlSequenceNode)TestFile()["actionTests"]).Cast<YamlMappingNode>())
            data.Add(((YamlScalarNode)test["action"]).Value!, ((YamlScalarNode)test["inputPath"]).Value!, ((YamlScalarNode)test["expectedOutputPath"]).Value!);
        return data;
    }

    [Theory]
    [MemberData(nameof(DiscoveryCases))]
    public async Task DiscoveryLua_OffersTheExpectedActions(string inputPath, string expected)
    {
        var output = await ArgoLua.RunAsync(Dir, inputPath, "discovery.lua", ArgoLua.JsonEpilogue);
        using var doc = JsonDocument.Parse(output);
        var actual = doc.RootElement.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => $"{p.Name}={(p.Value.TryGetProperty("disabled", out var d) && d.GetBoolean() ? "true" : "false")}");
        Assert.Equal(expected, string.Join(",", actual));
        foreach (var action in doc.RootElement.EnumerateObject())
            Assert.True(File.Exists(Path.Combine(Dir, action.Name, "action.lua")), $"discovery offers {action.Name}, which has no action.lua");
    }

    [Theory]
    [MemberData(nameof(ActionCases))]
    public async Task ActionLua_ReturnsTheExpectedResources(string action, string inputPath, string expectedOutputPath)
    {
        var output = await ArgoLua.RunAsync(Dir, inputPath, Path.Combine(action, "action.lua"), ArgoLua.JsonEpilogue);
        var expected = ArgoLua.Canonical(ArgoLua.LoadYaml(Path.Combine(Dir, expectedOutputPath)));
        Assert.Equal(expected, ArgoLua.CanonicalJson(output));
    }

    [Fact]
    public void ActionTest_EveryActionHasACase()
    {
        var actions = Directory.GetDirectories(Dir).Select(Path.GetFileName).Where(d => File.Exists(Path.Combine(Dir, d!, "action.lua"))).ToHashSet();
        Assert.Equal(["backup-now", "drill", "failback"], actions.Order(StringComparer.Ordinal));
        var tested = ActionCases().Select(row => (string)row[0]).ToHashSet();
        Assert.Superset(actions!, tested);
    }
}
