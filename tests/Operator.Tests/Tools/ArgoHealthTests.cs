using System.Reflection;
using k8s.Models;
using ResilienceOperator.Entities;
using YamlDotNet.RepresentationModel;

namespace ResilienceOperator.Tests.Tools;

/// <summary>
/// The Argo CD health checks (config/argocd/resilience.dev/&lt;Kind&gt;/health.lua), each run by a
/// real Lua 5.1 interpreter against the cases in its health_test.yaml, the layout Argo CD's own
/// resource_customizations use.
/// </summary>
public sealed class ArgoHealthTests
{
    private static IEnumerable<string> Kinds() =>
        typeof(ResiliencePolicy).Assembly.GetTypes().Select(t => t.GetCustomAttribute<KubernetesEntityAttribute>()?.Kind)
            .OfType<string>().Order(StringComparer.Ordinal);

    private static IEnumerable<(string Input, string Status, string Message)> TestsOf(string kind)
    {
        var root = (YamlMappingNode)ArgoLua.LoadYaml(Path.Combine(ArgoLua.KindDir(kind), "health_test.yaml"));
        foreach (var test in ((YamlSequenceNode)root["tests"]).Cast<YamlMappingNode>())
        {
            var status = (YamlMappingNode)test["healthStatus"];
            yield return (((YamlScalarNode)test["inputPath"]).Value!, ((YamlScalarNode)status["status"]).Value!, ((YamlScalarNode)status["message"]).Value!);
        }
    }

    public static TheoryData<string, string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (var kind in Kinds())
            foreach (var (input, status, message) in TestsOf(kind)) data.Add(kind, input, status, message);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task HealthLua_GivesTheExpectedStatus(string kind, string inputPath, string status, string message)
    {
        var output = await ArgoLua.RunAsync(ArgoLua.KindDir(kind), inputPath, "health.lua", "io.write(result.status .. \"\\n\" .. result.message)");
        Assert.Equal(status + "\n" + message, output);
    }

    [Fact]
    public void HealthTest_EveryKindHasAHealthCheck()
    {
        Assert.Equal(["ResilienceBackup", "ResilienceDrill", "ResiliencePolicy", "ResilienceRestore"], Kinds());
        foreach (var kind in Kinds())
        {
            Assert.True(File.Exists(Path.Combine(ArgoLua.KindDir(kind), "health.lua")), $"{kind}: no health.lua");
            Assert.True(File.Exists(Path.Combine(ArgoLua.KindDir(kind), "health_test.yaml")), $"{kind}: no health_test.yaml");
        }
    }

    [Fact]
    public void HealthTest_EveryKindCoversHealthyProgressingDegradedAndDeletion()
    {
        foreach (var kind in Kinds())
        {
            var tests = TestsOf(kind).ToList();
            Assert.Superset(new HashSet<string> { "Healthy", "Progressing", "Degraded" }, tests.Select(t => t.Status).ToHashSet());
            // A case with metadata.deletionTimestamp whose status would otherwise be Healthy or
            // Degraded: deletion is decided first, and it is Progressing.
            var deleting = tests.Where(t => ((YamlMappingNode)((YamlMappingNode)ArgoLua.LoadYaml(Path.Combine(ArgoLua.KindDir(kind), t.Input)))["metadata"])
                .Children.ContainsKey("deletionTimestamp")).ToList();
            Assert.True(deleting.Count > 0, $"{kind}: no fixture with metadata.deletionTimestamp");
            Assert.All(deleting, t => Assert.Equal("Progressing", t.Status));
            Assert.All(deleting, t => Assert.StartsWith("Being deleted", t.Message, StringComparison.Ordinal));
        }
    }
}
