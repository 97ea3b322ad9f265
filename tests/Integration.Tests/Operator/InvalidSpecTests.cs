using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Operator;

/// <summary>What the schema cannot reject becomes Ready=False, reason InvalidSpec, naming the field; others carry on.</summary>
[Collection("cluster")]
public sealed class InvalidSpecTests(ClusterFixture cluster)
{
    [Fact(Timeout = TestDeadline.Default)]
    public async Task InvalidSpec_EachCase_ReadyFalseNamingFieldAndValidPolicyUnaffected()
    {
        var s = await Scenario.CreateAsync(cluster, "invalid");
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
        await s.WaitForConditionAsync("Ready", "True");

        var cases = new (string Name, Action<ResiliencePolicySpec> Break, string Field)[]
        {
            ("unknown-deployment", p => { p.Targets[1].Name = "missing"; }, "spec.targets[1].name: Deployment \"missing\" not found"),
            ("missing-service", p => p.Service.Name = "nope", "spec.service.name: Service \"nope\" not found"),
            ("service-taken", _ => { }, "spec.service.name: Service \"checkout\" is already steered by ResiliencePolicy \"checkout\""),
            ("timeout-over-interval", p => { p.HealthCheck!.Timeout = "2s"; }, "spec.healthCheck.timeout"),
            ("detection-over-rto", p => { p.Objectives = new ObjectivesSpec { Rto = "1s" }; }, "longer than spec.objectives.rto 1s"),
            ("unknown-probe-port", p => { p.HealthCheck!.Http!.Port = 9999; }, "spec.healthCheck.http.port"),
        };
        foreach (var (name, breakIt, field) in cases)
        {
            // Each case steers a Service of its own, so that only the broken field is wrong.
            if (name is not ("missing-service" or "service-taken"))
                await s.Client.CoreV1.CreateNamespacedServiceAsync(ClusterFixture.Service(name, s.Namespace, new Dictionary<string, string> { ["app"] = name }), s.Namespace);
            var policy = Scenario.Policy(s.Namespace, breakIt);
            policy.Metadata.Name = name;
            if (name is not ("missing-service" or "service-taken")) policy.Spec.Service.Name = name;
            await s.ApplyPolicyAsync(policy);
            await s.WaitForConditionAsync("Ready", "False", "InvalidSpec", name: name);
            var ready = await s.ConditionAsync("Ready", name);
            Assert.Contains(field, ready!.Message, StringComparison.Ordinal);
        }
        // The valid policy kept its traffic and its readiness throughout.
        Assert.Equal("primary", await s.SelectedAppAsync());
        Assert.Equal("True", (await s.ConditionAsync("Ready"))!.Status);
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "InvalidSpec" && e.Type == "Warning"), e => e.Reason == "InvalidSpec" && e.Type == "Warning");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task InvalidSpec_Fixed_ValidWithoutRestart()
    {
        var s = await Scenario.CreateAsync(cluster, "invalid-fix");
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, p => p.Targets[1].Name = "missing"));
        await s.WaitForConditionAsync("Ready", "False", "InvalidSpec");
        // Fixing a policy makes it valid without a restart.
        await s.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"spec":{"targets":[{"name":"primary","priority":0},{"name":"standby","priority":10}]}}""", V1Patch.PatchType.MergePatch),
            GroupVersion.Group, GroupVersion.Version, s.Namespace, ResiliencePolicy.KubePluralName, "checkout");
        await ClusterFixture.WaitUntilAsync(async () => (await s.ConditionAsync("Ready"))?.Reason != "InvalidSpec",
            TimeSpan.FromSeconds(15), "fixed policy no longer InvalidSpec");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Schema_InvalidValues_RejectedWith422NamingTheField()
    {
        var ns = await cluster.CreateNamespaceAsync("schema");
        var cases = new (string Yaml, string Field)[]
        {
            ("healthCheck: {interval: \"5 seconds\"}", "spec.healthCheck.interval"),
            ("mode: Sideways", "spec.mode"),
            ("healthCheck: {retries: 0}", "spec.healthCheck.retries"),
            // spec.targets is a list-map keyed by name (x-kubernetes-list-type: map): duplicates are a 422.
            ("targets: [{name: primary}, {name: primary, priority: 1}]", "spec.targets[1]"),
        };
        foreach (var (yaml, field) in cases)
        {
            var manifest = $"""
                apiVersion: resilience.dev/v1alpha1
                kind: ResiliencePolicy
                metadata: {"{"}name: bad, namespace: {ns}{"}"}
                spec:
                  {(yaml.StartsWith("targets:", StringComparison.Ordinal) ? "" : "targets: [{name: primary}]")}
                  service: {"{"}name: checkout{"}"}
                  {yaml}
                """;
            var file = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.yaml");
            await File.WriteAllTextAsync(file, manifest);
            var (code, _, stderr) = await cluster.RunKubectlAsync("apply", "--validate=false", "-f", file);
            File.Delete(file);
            Assert.NotEqual(0, code);
            Assert.Contains(field, stderr, StringComparison.Ordinal);
        }
    }
}
