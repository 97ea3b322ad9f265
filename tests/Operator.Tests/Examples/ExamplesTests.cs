using System.Text.Json;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using ResilienceOperator.Tests.Tools;
using YamlDotNet.RepresentationModel;

namespace ResilienceOperator.Tests.Examples;

/// <summary>
/// examples/ never rots: every document deserializes into the operator's types, and every policy
/// passes the operator's own validation (the checks that otherwise surface as Ready=False,
/// reason InvalidSpec), with the Deployments, Secrets and policies it names in the same file.
/// </summary>
public sealed class ExamplesTests
{
    private static readonly Dictionary<string, Type> Types = new()
    {
        ["resilience.dev/v1alpha1/ResiliencePolicy"] = typeof(ResiliencePolicy),
        ["resilience.dev/v1alpha1/ResilienceBackup"] = typeof(ResilienceBackup),
        ["resilience.dev/v1alpha1/ResilienceRestore"] = typeof(ResilienceRestore),
        ["resilience.dev/v1alpha1/ResilienceDrill"] = typeof(ResilienceDrill),
    };

    private static List<string> FileNames() =>
        [.. Directory.GetFiles(Path.Combine(Tool.RepoRoot(), "examples"), "*.yaml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    public static TheoryData<string> Files() => [.. FileNames()];

    private static List<object> Load(string file) =>
        KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(Tool.RepoRoot(), "examples", file)), Types);

    /// <summary>
    /// Fields of the YAML that did not make it into the typed objects (the deserializer skips
    /// unknown fields silently): every key must come back when the object is serialized again.
    /// </summary>
    private static List<string> UnknownFields(string yaml)
    {
        var objects = KubernetesYaml.LoadAllFromString(yaml, Types);
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        Assert.Equal(stream.Documents.Count, objects.Count);
        var unknown = new List<string>();
        for (var i = 0; i < objects.Count; i++)
        {
            using var json = JsonDocument.Parse(KubernetesJson.Serialize(objects[i]));
            Walk(stream.Documents[i].RootNode, json.RootElement, $"document {i + 1}", unknown);
        }
        return unknown;
    }

    private static void Walk(YamlNode yaml, JsonElement json, string path, List<string> unknown)
    {
        switch (yaml)
        {
            case YamlMappingNode map when json.ValueKind == JsonValueKind.Object:
                foreach (var (key, value) in map.Children)
                {
                    var name = ((YamlScalarNode)key).Value!;
                    if (json.TryGetProperty(name, out var child)) Walk(value, child, path + "." + name, unknown);
                    else unknown.Add(path + "." + name);
                }
                break;
            case YamlSequenceNode list when json.ValueKind == JsonValueKind.Array && json.GetArrayLength() == list.Children.Count:
                for (var i = 0; i < list.Children.Count; i++) Walk(list.Children[i], json[i], $"{path}[{i}]", unknown);
                break;
            case YamlScalarNode:
                break;
            default:
                unknown.Add(path);
                break;
        }
    }

    [Fact]
    public void Examples_CoverEachFeature()
    {
        var all = FileNames().SelectMany(Load).ToList();
        var policies = all.OfType<ResiliencePolicy>().Select(p => p.Spec).ToList();
        Assert.Contains(policies, p => p.Mode == ResilienceMode.ActiveActive);
        Assert.Contains(policies, p => p.Enforcement == EnforcementMode.DryRun);
        Assert.Contains(policies, p => p.Degradation is { Shed.Count: > 0, Fallback: not null });
        Assert.Contains(policies, p => p.Drills is not null);
        Assert.Contains(all, o => o is ResilienceDrill);
        Assert.Contains(policies, p => p.Notifications?.Webhooks.Any(w => w.SecretRef is not null) == true);
        Assert.Contains(policies, p => p.Backup is { Retention: not null, Template: not null } && p.Restore?.Template is not null);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Example_DeserializesAndPassesValidation(string file)
    {
        var text = File.ReadAllText(Path.Combine(Tool.RepoRoot(), "examples", file));
        Assert.DoesNotContain("sim.resilience.dev", text, StringComparison.Ordinal); // real workloads, not the simulator's
        Assert.Empty(UnknownFields(text));
        var objects = Load(file);
        Assert.NotEmpty(objects);
        foreach (var o in objects)
        {
            var meta = Assert.IsAssignableFrom<IMetadata<V1ObjectMeta>>(o).Metadata;
            Assert.False(string.IsNullOrEmpty(meta.Name), $"{file}: an object without metadata.name");
            Assert.False(string.IsNullOrEmpty(meta.NamespaceProperty), $"{file}: {meta.Name} has no namespace");
        }
        var policies = objects.OfType<ResiliencePolicy>().ToList();
        foreach (var policy in policies)
        {
            var where = $"{file}: policy {policy.Metadata.Name}";
            var (spec, error) = EffectiveSpec.From(policy.Spec);
            Assert.True(error is null, $"{where}: {error}");
            if (policy.Spec.Backup is { } backup) Assert.Null(BackupSchedule.From(backup).Error);
            if (RecoveryPlanner.RestoresOnFail(spec!.OnFail)) Assert.NotEmpty(policy.Spec.Restore?.Template?.Spec?.Containers ?? []);
            if (policy.Spec.Drills is { } drills) Assert.Null(DrillSchedule.Parse(drills.Schedule).Error);
            if (policy.Spec.Degradation is { } degradation)
            {
                var deployments = objects.OfType<V1Deployment>().Where(d => d.Metadata.NamespaceProperty == policy.Metadata.NamespaceProperty)
                    .ToDictionary(d => d.Metadata.Name);
                var observation = new Observation(policy, deployments, null, new Dictionary<string, V1HorizontalPodAutoscaler>(),
                    new Dictionary<string, TargetHealth>(), null, DateTime.UtcNow);
                Assert.Null(DegradationPlanner.Validate(degradation, spec, observation));
            }
            foreach (var webhook in policy.Spec.Notifications?.Webhooks ?? [])
            {
                Assert.True(Uri.TryCreate(webhook.Url, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http", $"{where}: {webhook.Url}");
                if (webhook.SecretRef is { } secretRef)
                {
                    var secret = Assert.Single(objects.OfType<V1Secret>(), s => s.Metadata.Name == secretRef.Name && s.Metadata.NamespaceProperty == policy.Metadata.NamespaceProperty);
                    Assert.True(secret.StringData?.ContainsKey(secretRef.Key) == true || secret.Data?.ContainsKey(secretRef.Key) == true, $"{where}: key {secretRef.Key}");
                }
            }
            // Deployments given in the same file and named as targets select their pods by labels the Service uses.
            foreach (var target in policy.Spec.Targets)
                if (objects.OfType<V1Deployment>().FirstOrDefault(d => d.Metadata.Name == target.Name) is { } d)
                    Assert.Equal(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels);
        }
        foreach (var drill in objects.OfType<ResilienceDrill>())
            Assert.Contains(policies, p => p.Metadata.Name == drill.Spec.Policy && p.Metadata.NamespaceProperty == drill.Metadata.NamespaceProperty);
    }

    [Fact]
    public void Load_UnknownField_Rejected()
    {
        // What keeps a misspelt field in an example from passing unnoticed.
        const string Yaml = """
            apiVersion: resilience.dev/v1alpha1
            kind: ResiliencePolicy
            metadata: {name: x, namespace: y}
            spec:
              targets: [{name: a}]
              service: {name: s}
              healthCheck: {intervall: 5s}
            """;
        Assert.Equal(["document 1.spec.healthCheck.intervall"], UnknownFields(Yaml));
    }
}
