using ResilienceOperator.Tests.Tools;
using YamlDotNet.RepresentationModel;

namespace ResilienceOperator.Tests.Release;

/// <summary>The release workflow and the Dockerfile it builds stay consistent with the repository.</summary>
public sealed class ReleaseWorkflowTests
{
    private static readonly string Root = Tool.RepoRoot();

    private static YamlMappingNode Workflow()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(Root, ".github", "workflows", "release.yaml"))));
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    private static IEnumerable<YamlMappingNode> Steps(YamlMappingNode workflow) =>
        ((YamlMappingNode)workflow["jobs"]).Children.Values.Cast<YamlMappingNode>()
            .SelectMany(j => ((YamlSequenceNode)j["steps"]).Children.Cast<YamlMappingNode>());

    private static string? Get(YamlMappingNode node, params string[] path)
    {
        YamlNode current = node;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode m || !m.Children.TryGetValue(new YamlScalarNode(key), out var next)) return null;
            current = next;
        }
        return (current as YamlScalarNode)?.Value;
    }

    [Fact]
    public void Workflow_OnVersionTags_BuildsMultiArchSignedImageWithSbom()
    {
        var workflow = Workflow();
        var tags = (YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)workflow["on"])["push"])["tags"];
        Assert.Equal(["v*"], tags.Children.Select(t => ((YamlScalarNode)t).Value));
        var build = Assert.Single(Steps(workflow), s => Get(s, "uses")?.StartsWith("docker/build-push-action@", StringComparison.Ordinal) == true);
        var file = Get(build, "with", "file")!;
        Assert.True(File.Exists(Path.Combine(Root, file)), file);
        Assert.Equal("linux/amd64,linux/arm64", Get(build, "with", "platforms"));
        Assert.Equal("true", Get(build, "with", "sbom"));
        Assert.NotNull(Get(build, "with", "provenance"));
        var labels = Get(Assert.Single(Steps(workflow), s => Get(s, "uses")?.StartsWith("docker/metadata-action@", StringComparison.Ordinal) == true), "with", "labels")!;
        foreach (var label in new[] { "source", "version", "revision", "licenses" })
            Assert.Contains($"org.opencontainers.image.{label}=", labels, StringComparison.Ordinal);
        Assert.Contains(Steps(workflow), s => Get(s, "run")?.Contains("cosign sign --yes", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void Workflow_PushesTheChartThatExistsAsOciArtifact()
    {
        var runs = string.Join("\n", Steps(Workflow()).Select(s => Get(s, "run")).OfType<string>());
        var package = Assert.Single(runs.Split('\n'), l => l.TrimStart().StartsWith("helm package ", StringComparison.Ordinal));
        var chart = package.Trim().Split(' ')[2];
        Assert.True(File.Exists(Path.Combine(Root, chart, "Chart.yaml")), chart);
        Assert.Contains("helm push ", runs, StringComparison.Ordinal);
        Assert.Contains("oci://ghcr.io/", runs, StringComparison.Ordinal);
        // The image the workflow publishes is the one the chart's values name by default.
        Assert.Contains($"sed -n '/^image:/,/^[^ ]/s/^  repository: *//p' {chart}/values.yaml", runs, StringComparison.Ordinal);
        var values = File.ReadAllText(Path.Combine(Root, chart, "values.yaml"));
        Assert.Matches(@"(?m)^  repository: ghcr\.io/[a-z0-9-]+/resilience-operator$", values);
        Assert.Contains("image=ghcr.io/${OWNER,,}/resilience-operator", runs, StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerfile_CrossBuildsOnBuildPlatformForTargetArch()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "Dockerfile"));
        Assert.Contains(lines, l => l.StartsWith("FROM --platform=$BUILDPLATFORM ", StringComparison.Ordinal) && l.EndsWith(" AS build", StringComparison.Ordinal));
        Assert.Contains("ARG TARGETARCH", lines);
        // One publish line, with -o (InstallTests runs it with its own output folder) and -a $TARGETARCH.
        var publish = Assert.Single(lines, l => l.StartsWith("RUN dotnet publish ", StringComparison.Ordinal)).Split(' ');
        Assert.Contains("-o", publish);
        Assert.Equal("$TARGETARCH", publish[Array.IndexOf(publish, "-a") + 1]);
        Assert.Contains(lines, l => l.StartsWith("RUN dotnet restore -a $TARGETARCH ", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(Root, "LICENSE")));
        Assert.Contains("Apache License", File.ReadAllText(Path.Combine(Root, "LICENSE")), StringComparison.Ordinal);
    }

    [Fact]
    public void Image_RunsTheMeasuredGcSettings()
    {
        // docs/benchmarks.md measured these: workstation GC and a small gen0 budget (16 MiB rested
        // ~90 MiB lower with 1,000 policies, 8 MiB lower again); the runtime reads the gen0 budget
        // from the environment only.
        var csproj = File.ReadAllText(Path.Combine(Root, "src", "Operator", "Operator.csproj"));
        Assert.Contains("<ServerGarbageCollection>false</ServerGarbageCollection>", csproj, StringComparison.Ordinal);
        var dockerfile = File.ReadAllText(Path.Combine(Root, "Dockerfile"));
        Assert.Matches(@"(?m)^\s+DOTNET_GCgen0size=0x800000 \\$", dockerfile);
    }
}
