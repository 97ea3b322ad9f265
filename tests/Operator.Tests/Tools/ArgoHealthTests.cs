using System.Globalization;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace ResilienceOperator.Tests.Tools;

/// <summary>
/// The Argo CD health check (config/argocd/resilience.dev/ResiliencePolicy/health.lua), run by a
/// real Lua 5.1 interpreter against the cases in its health_test.yaml, the layout Argo CD's own
/// resource_customizations use.
/// </summary>
public sealed class ArgoHealthTests
{
    private static string Dir => Path.Combine(Tool.RepoRoot(), "config", "argocd", "resilience.dev", "ResiliencePolicy");

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Path.Combine(Dir, "health_test.yaml"))));
        foreach (var test in ((YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["tests"]).Cast<YamlMappingNode>())
        {
            var status = (YamlMappingNode)test["healthStatus"];
            data.Add(((YamlScalarNode)test["inputPath"]).Value!, ((YamlScalarNode)status["status"]).Value!, ((YamlScalarNode)status["message"]).Value!);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task HealthLua_GivesTheExpectedStatus(string inputPath, string status, string message)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(await File.ReadAllTextAsync(Path.Combine(Dir, inputPath))));
        var script = Path.Combine(Path.GetTempPath(), $"argo-health-{Guid.NewGuid():N}.lua");
        var lua = new StringBuilder("obj = ");
        ToLua(yaml.Documents[0].RootNode, lua);
        lua.Append("\nlocal hs = dofile(\"").Append(Path.Combine(Dir, "health.lua")).Append("\")\nio.write(hs.status .. \"\\n\" .. hs.message)\n");
        await File.WriteAllTextAsync(script, lua.ToString());
        try
        {
            var (code, output) = await Tool.RunAsync("lua5.1", Dir, script);
            Assert.True(code == 0, output);
            Assert.Equal(status + "\n" + message, output);
        }
        finally { File.Delete(script); }
    }

    [Fact]
    public void HealthTest_CoversHealthyProgressingAndDegraded()
    {
        var statuses = Cases().Select(row => (string)row[1]).ToHashSet();
        Assert.Superset(new HashSet<string> { "Healthy", "Progressing", "Degraded" }, statuses);
    }

    /// <summary>YAML as a Lua table constructor, numbers and booleans typed as Argo CD's JSON decoding gives them.</summary>
    private static void ToLua(YamlNode node, StringBuilder sb)
    {
        switch (node)
        {
            case YamlMappingNode map:
                sb.Append('{');
                foreach (var (k, v) in map.Children)
                {
                    sb.Append("[\"").Append(Escape(((YamlScalarNode)k).Value!)).Append("\"]=");
                    ToLua(v, sb);
                    sb.Append(',');
                }
                sb.Append('}');
                break;
            case YamlSequenceNode seq:
                sb.Append('{');
                foreach (var v in seq.Children) { ToLua(v, sb); sb.Append(','); }
                sb.Append('}');
                break;
            case YamlScalarNode s:
                var text = s.Value ?? "";
                var plain = s.Style == YamlDotNet.Core.ScalarStyle.Plain;
                if (plain && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) sb.Append(n.ToString(CultureInfo.InvariantCulture));
                else if (plain && text is "true" or "false") sb.Append(text);
                else sb.Append('"').Append(Escape(text)).Append('"');
                break;
        }
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
