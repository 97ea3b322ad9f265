using System.Text.Json;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Operator;

/// <summary>Replica floors, HPAs, disruption budgets, active-active capacity and deletion.</summary>
[Collection("cluster")]
public sealed class RedundancyTests(ClusterFixture cluster)
{
    [Fact(Timeout = TestDeadline.Default)]
    public async Task ReplicaFloor_ScaledDownByHand_RestoredAndNeverLowered()
    {
        var s = await Scenario.CreateAsync(cluster, "floor", primaryReplicas: 3, standbyReplicas: 5);
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec => spec.Redundancy = new RedundancySpec { MinReplicas = 3, StandbyReplicas = 1 }));
        await s.WaitForConditionAsync("Ready", "True");
        var (code, _, err) = await cluster.RunKubectlAsync("scale", "deployment/primary", "--replicas=1", "-n", s.Namespace);
        Assert.True(code == 0, err);
        await ClusterFixture.WaitUntilAsync(async () => (await s.DeploymentAsync("primary")).Spec.Replicas == 3, TimeSpan.FromSeconds(10), "primary back at its floor of 3");
        Assert.Equal(5, (await s.DeploymentAsync("standby")).Spec.Replicas); // above standbyReplicas: left alone
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "ScaledUp"), e => e.Reason == "ScaledUp");
        // Server-side apply: the operator's manager owns spec.replicas, so GitOps tools can ignore it by name.
        var owner = Assert.Single((await s.DeploymentAsync("primary")).Metadata.ManagedFields, m => m.Manager == "resilience-operator" && m.Operation == "Apply");
        Assert.Contains("\"f:replicas\"", k8s.KubernetesJson.Serialize(owner.FieldsV1), StringComparison.Ordinal);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Hpa_TargetsDeployment_MinReplicasRaisedInsteadOfReplicas()
    {
        var s = await Scenario.CreateAsync(cluster, "hpa", primaryReplicas: 1);
        await s.Client.AutoscalingV1.CreateNamespacedHorizontalPodAutoscalerAsync(new V1HorizontalPodAutoscaler
        {
            Metadata = new V1ObjectMeta { Name = "primary" },
            Spec = new V1HorizontalPodAutoscalerSpec
            {
                MinReplicas = 1, MaxReplicas = 10, TargetCPUUtilizationPercentage = 80,
                ScaleTargetRef = new V1CrossVersionObjectReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = "primary" },
            },
        }, s.Namespace);
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec => spec.Redundancy = new RedundancySpec { MinReplicas = 3 }));
        await ClusterFixture.WaitUntilAsync(async () => (await s.Client.AutoscalingV1.ReadNamespacedHorizontalPodAutoscalerAsync("primary", s.Namespace)).Spec.MinReplicas == 3,
            TimeSpan.FromSeconds(15), "HPA minReplicas raised to 3");
        var primary = await s.DeploymentAsync("primary");
        Assert.DoesNotContain(primary.Metadata.ManagedFields ?? [], m => m.Manager == "resilience-operator");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task PodDisruptionBudget_OnePerTarget_OwnedByPolicy()
    {
        var s = await Scenario.CreateAsync(cluster, "pdb");
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec => spec.Redundancy!.PodDisruptionBudget = new PodDisruptionBudgetSpec { MaxUnavailable = 1 }));
        var (_, stdout, _) = (0, "", "");
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            (_, stdout, _) = await cluster.RunKubectlAsync("get", "pdb", "-n", s.Namespace, "-o", "json");
            return stdout.Contains("checkout-primary", StringComparison.Ordinal) && stdout.Contains("checkout-standby", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(15), "a PDB per target");
        using var doc = JsonDocument.Parse(stdout);
        foreach (var item in doc.RootElement.GetProperty("items").EnumerateArray())
        {
            Assert.Equal(1, item.GetProperty("spec").GetProperty("maxUnavailable").GetInt32());
            Assert.Equal("ResiliencePolicy", item.GetProperty("metadata").GetProperty("ownerReferences")[0].GetProperty("kind").GetString());
            Assert.Equal("checkout", item.GetProperty("metadata").GetProperty("labels").GetProperty("resilience.dev/policy").GetString());
        }
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task ActiveActive_TargetFails_CapacityKeptAndFailingPodsGateFalse()
    {
        var shared = new Dictionary<string, string> { ["tier"] = "web" };
        var s = await Scenario.CreateAsync(cluster, "aa", sharedLabels: shared);
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec => spec.Mode = ResilienceMode.ActiveActive));
        await ClusterFixture.WaitUntilAsync(async () => (await s.SelectorAsync()).SequenceEqual(shared), TimeSpan.FromSeconds(15), "Service spans both targets");
        await ClusterFixture.WaitUntilAsync(async () => (await s.DeploymentAsync("primary")).Spec.Template.Spec.ReadinessGates?.Any(g => g.ConditionType == "resilience.dev/healthy") == true,
            TimeSpan.FromSeconds(10), "readiness gate added to the pod template");
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(40));
        // The template change rolls out: every pod carries the gate before the fault.
        foreach (var app in new[] { "primary", "standby" })
        {
            await ClusterFixture.WaitUntilAsync(async () =>
            {
                var pods = (await s.Client.CoreV1.ListNamespacedPodAsync(s.Namespace, labelSelector: "app=" + app)).Items;
                return pods.Count == 2 && pods.All(p => p.Metadata.DeletionTimestamp is null
                    && p.Spec.ReadinessGates?.Any(g => g.ConditionType == "resilience.dev/healthy") == true
                    && p.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true);
            }, TimeSpan.FromSeconds(30), $"{app} rolled out with the readiness gate, pods Ready");
        }
        await s.SetFaultAsync("primary", "http-fail");
        await ClusterFixture.WaitUntilAsync(async () => (await s.DeploymentAsync("standby")).Spec.Replicas == 4, TimeSpan.FromSeconds(15), "standby scaled to 4 to keep total capacity");
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            var pods = await s.Client.CoreV1.ListNamespacedPodAsync(s.Namespace, labelSelector: "app=primary");
            return pods.Items.Count > 0 && pods.Items.Where(p => p.Metadata.DeletionTimestamp is null)
                .All(p => p.Status.Conditions?.Any(c => c.Type == "resilience.dev/healthy" && c.Status == "False") == true);
        }, TimeSpan.FromSeconds(10), "failing pods have the gate False");
        // The status is written after the changes it records: wait for it rather than race it.
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.ActiveTargets?.SequenceEqual(["standby"]) == true,
            TimeSpan.FromSeconds(5), "status lists only the standby as active");
        await s.SetFaultAsync("primary", null);
        await ClusterFixture.WaitUntilAsync(async () => (await s.DeploymentAsync("standby")).Spec.Replicas == 2, TimeSpan.FromSeconds(15), "extra capacity given back");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Delete_Policy_RestoresSelectorAndRemovesOwnedObjects()
    {
        var s = await Scenario.CreateAsync(cluster, "del");
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec => spec.Redundancy!.PodDisruptionBudget = new PodDisruptionBudgetSpec { MaxUnavailable = 1 }));
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
        await s.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, s.Namespace, ResiliencePolicy.KubePluralName, "checkout");
        await ClusterFixture.WaitUntilAsync(async () => !await s.PolicyExistsAsync(), TimeSpan.FromSeconds(15), "policy gone (finalizer removed)");
        Assert.Equal("checkout", await s.SelectedAppAsync());
        var svc = await s.Client.CoreV1.ReadNamespacedServiceAsync("checkout", s.Namespace);
        Assert.False(svc.Metadata.Annotations?.ContainsKey("resilience.dev/original-selector") == true);
        var (_, pdbs, _) = await cluster.RunKubectlAsync("get", "pdb", "-n", s.Namespace, "-o", "name");
        Assert.Equal("", pdbs.Trim());
        Assert.Equal(2, (await s.DeploymentAsync("primary")).Spec.Replicas); // Deployments stay as they are
    }
}
