using ResilienceOperator.Crds;
using ResilienceOperator.Entities;
using YamlDotNet.RepresentationModel;

namespace ResilienceOperator.Tests.Crds;

public sealed class CrdGeneratorTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ResilienceOperator.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    private static YamlMappingNode Load(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlMappingNode Policy() => Load(CrdGenerator.GenerateYaml(typeof(ResiliencePolicy)));

    private static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (var p in path)
            node = int.TryParse(p, out var i) ? ((YamlSequenceNode)node)[i] : ((YamlMappingNode)node)[p];
        return node;
    }

    private static YamlMappingNode Spec(string field) =>
        (YamlMappingNode)At(Policy(), "spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", field);

    [Fact]
    public void CommittedCrds_MatchGeneratedFromTypes()
    {
        var generated = CrdGenerator.GenerateAll();
        Assert.NotEmpty(generated);
        foreach (var (file, yaml) in generated)
        {
            var path = Path.Combine(RepoRoot(), "config", "crd", file);
            Assert.True(File.Exists(path), $"{path} is missing: run dotnet run --project src/Operator -- generate crds");
            Assert.True(File.ReadAllText(path) == yaml, $"{path} differs from the types: run dotnet run --project src/Operator -- generate crds");
        }
    }

    [Fact]
    public void GenerateYaml_EveryCrd_ArgoCdNeverPrunesIt()
    {
        foreach (var (file, yaml) in CrdGenerator.GenerateAll())
        {
            var annotations = (YamlMappingNode)At(Load(yaml), "metadata", "annotations");
            Assert.True(annotations.Children.ContainsKey("argocd.argoproj.io/sync-options"), $"{file}: no argocd.argoproj.io/sync-options");
            Assert.Equal("Prune=false", annotations["argocd.argoproj.io/sync-options"].ToString());
        }
    }

    [Fact]
    public void GenerateYaml_Policy_TargetsAndShedAreMapsByNameLocationsASet()
    {
        var targets = Spec("targets");
        Assert.Equal("map", targets["x-kubernetes-list-type"].ToString());
        Assert.Equal("name", At(targets, "x-kubernetes-list-map-keys", "0").ToString());
        // A list-map key must be required, or the API server rejects the CRD.
        Assert.Contains("name", ((YamlSequenceNode)At(targets, "items", "required")).Select(n => n.ToString()));
        var shed = (YamlMappingNode)At(Spec("degradation"), "properties", "shed");
        Assert.Equal("map", shed["x-kubernetes-list-type"].ToString());
        Assert.Equal("name", At(shed, "x-kubernetes-list-map-keys", "0").ToString());
        Assert.Contains("name", ((YamlSequenceNode)At(shed, "items", "required")).Select(n => n.ToString()));
        Assert.Equal("set", At(Spec("backup"), "properties", "locations", "x-kubernetes-list-type").ToString());
    }

    [Fact]
    public void GenerateYaml_Policy_NamesShortNamesCategoriesAndStatusSubresource()
    {
        var spec = At(Policy(), "spec");
        Assert.Equal("resilience.dev", At(spec, "group").ToString());
        Assert.Equal("rp", At(spec, "names", "shortNames", "0").ToString());
        Assert.Equal("resilience", At(spec, "names", "categories", "0").ToString());
        Assert.Equal("Namespaced", At(spec, "scope").ToString());
        Assert.NotNull(At(spec, "versions", "0", "subresources", "status"));
    }

    [Fact]
    public void GenerateYaml_Policy_PrinterColumnsModeActiveReadyAge()
    {
        var columns = (YamlSequenceNode)At(Policy(), "spec", "versions", "0", "additionalPrinterColumns");
        var names = columns.Select(c => At(c, "name").ToString()).ToList();
        Assert.Equal(["Mode", "Active", "Ready", "Reason", "RPO", "Failovers", "Age"], names);
        Assert.Equal(".status.conditions[?(@.type==\"Ready\")].status", At(columns[2], "jsonPath").ToString());
        // Active: every active target as one string, so ActiveActive shows all of them.
        Assert.Equal(".status.activeTargetNames", At(columns[1], "jsonPath").ToString());
        // RPO: the live age of the newest completed backup, not a number frozen at the last status write.
        Assert.Equal("date", At(columns[4], "type").ToString());
        Assert.Equal(".status.backup.lastCompletedTime", At(columns[4], "jsonPath").ToString());
    }

    [Fact]
    public void GenerateYaml_HealthCheck_PatternRangeDefaultEnum()
    {
        var hc = (YamlMappingNode)Spec("healthCheck")["properties"];
        Assert.Equal(DurationFormat.Pattern, At(hc, "interval", "pattern").ToString());
        Assert.Equal("10s", At(hc, "interval", "default").ToString());
        Assert.Equal("1", At(hc, "retries", "minimum").ToString());
        Assert.Equal("100", At(hc, "minReadyPercent", "maximum").ToString());
        Assert.Equal(["Failover", "None", "Restore", "FailoverAndRestore"], ((YamlSequenceNode)At(hc, "onFail", "enum")).Select(n => n.ToString()));
        Assert.Equal(["ActivePassive", "ActiveActive"], ((YamlSequenceNode)At(Spec("mode"), "enum")).Select(n => n.ToString()));
    }

    [Fact]
    public void GenerateYaml_RequiredFields_TargetsAndServiceRequiredWithMinItems()
    {
        var spec = (YamlMappingNode)At(Policy(), "spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec");
        var required = ((YamlSequenceNode)spec["required"]).Select(n => n.ToString()).ToList();
        Assert.Contains("targets", required);
        Assert.Contains("service", required);
        Assert.Equal("1", At(Spec("targets"), "minItems").ToString());
        Assert.Contains("name", ((YamlSequenceNode)At(Spec("targets"), "items", "required")).Select(n => n.ToString()));
    }

    [Fact]
    public void GenerateYaml_Conditions_ListMapKeyedByType()
    {
        var conditions = (YamlMappingNode)At(Policy(), "spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "status", "properties", "conditions");
        Assert.Equal("map", At(conditions, "x-kubernetes-list-type").ToString());
        Assert.Equal("type", At(conditions, "x-kubernetes-list-map-keys", "0").ToString());
    }

    [Fact]
    public void GenerateYaml_EveryNode_StructuralWithTypeAndDescribedProperties()
    {
        var schema = At(Policy(), "spec", "versions", "0", "schema", "openAPIV3Schema");
        var problems = new List<string>();
        void Walk(YamlNode node, string path, bool isProperty)
        {
            var map = (YamlMappingNode)node;
            if (!map.Children.ContainsKey("type") && !map.Children.ContainsKey("x-kubernetes-preserve-unknown-fields")) problems.Add(path + ": no type");
            if (isProperty && !map.Children.ContainsKey("description") && !path.EndsWith(".metadata", StringComparison.Ordinal)) problems.Add(path + ": no description");
            if (map.Children.TryGetValue("properties", out var props))
                foreach (var (k, v) in ((YamlMappingNode)props).Children) Walk(v, path + "." + k, true);
            if (map.Children.TryGetValue("items", out var items)) Walk(items, path + "[]", false);
            if (map.Children.ContainsKey("x-kubernetes-validations")) problems.Add(path + ": CEL rules are not served by Kubernetes 1.20");
        }
        Walk(schema, "", false);
        Assert.Empty(problems);
    }
}
