using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Operator;

/// <summary>
/// The KEDA interlock on the local control plane, with a minimal ScaledObject CRD (no KEDA
/// controller). Each test leaves the CRD removed, so the rest of the suite runs without KEDA.
/// </summary>
[Collection("cluster")]
public sealed class KedaTests(ClusterFixture cluster)
{
    private const string Paused = "autoscaling.keda.sh/paused";
    private const string Marker = "resilience.dev/paused-keda";

    private string CrdFile => Path.Combine(cluster.RepoRoot, "tests", "Integration.Tests", "Operator", "keda-scaledobject-crd.yaml");

    private async Task<bool> ServedAsync(string ns)
    {
        try
        {
            await cluster.Client.CustomObjects.ListNamespacedCustomObjectAsync("keda.sh", "v1alpha1", ns, "scaledobjects");
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound) { return false; }
    }

    /// <summary>Applies the CRD (idempotent) and waits until the API serves it.</summary>
    private async Task InstallCrdAsync(string ns)
    {
        var (code, stdout, stderr) = await cluster.RunKubectlAsync("apply", "--validate=false", "-f", CrdFile);
        Assert.True(code == 0, $"kubectl apply of the ScaledObject CRD failed: {stdout}{stderr}");
        (code, stdout, stderr) = await cluster.RunKubectlAsync("wait", "--for=condition=Established", "crd/scaledobjects.keda.sh", "--timeout=60s");
        Assert.True(code == 0, $"ScaledObject CRD not Established: {stdout}{stderr}");
        await ClusterFixture.WaitUntilAsync(() => ServedAsync(ns), TimeSpan.FromSeconds(30), "keda.sh/v1alpha1 scaledobjects served");
    }

    private async Task RemoveCrdAsync(string ns)
    {
        await cluster.RunKubectlAsync("delete", "crd", "scaledobjects.keda.sh", "--ignore-not-found", "--wait=true", "--timeout=60s");
        await ClusterFixture.WaitUntilAsync(async () => !await ServedAsync(ns), TimeSpan.FromSeconds(30), "keda.sh/v1alpha1 scaledobjects no longer served");
    }

    private static async Task<IDictionary<string, string>> AnnotationsAsync(Scenario s, string name)
    {
        var body = (JsonElement)await s.Client.CustomObjects.GetNamespacedCustomObjectAsync("keda.sh", "v1alpha1", s.Namespace, "scaledobjects", name);
        return body.GetProperty("metadata").TryGetProperty("annotations", out var a)
            ? a.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "")
            : new Dictionary<string, string>();
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Keda_ColdStandbyFailover_ScaledObjectPausedDuringAndResumedAfter()
    {
        var s = await Scenario.CreateAsync(cluster, "keda", standbyReplicas: 0);
        try
        {
            await InstallCrdAsync(s.Namespace);
            var scaledObject = new JsonObject
            {
                ["apiVersion"] = "keda.sh/v1alpha1", ["kind"] = "ScaledObject",
                ["metadata"] = new JsonObject { ["name"] = "standby-scaler", ["namespace"] = s.Namespace },
                ["spec"] = new JsonObject
                {
                    ["scaleTargetRef"] = new JsonObject { ["name"] = "standby" },
                    ["minReplicaCount"] = 0, ["maxReplicaCount"] = 10,
                    ["triggers"] = new JsonArray(new JsonObject { ["type"] = "cpu", ["metadata"] = new JsonObject { ["value"] = "60" } }),
                },
            };
            await s.Client.CustomObjects.CreateNamespacedCustomObjectAsync(scaledObject, "keda.sh", "v1alpha1", s.Namespace, "scaledobjects");
            await s.WaitForReadyAsync("primary", 2);
            // The operator starts after the CRD exists: it finds KEDA at start-up.
            await using (var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace))
            {
                await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec => spec.Redundancy!.StandbyReplicas = 0));
                await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
                await s.WaitForConditionAsync("Ready", "True");
                Assert.False((await AnnotationsAsync(s, "standby-scaler")).ContainsKey(Paused));

                // Watch the ScaledObject through the failover and remember whether it was ever paused by the operator.
                var seenPaused = false;
                using var stopWatching = new CancellationTokenSource();
                var watching = Task.Run(async () =>
                {
                    while (!stopWatching.IsCancellationRequested)
                    {
                        var a = await AnnotationsAsync(s, "standby-scaler");
                        if (a.TryGetValue(Paused, out var v) && v == "true" && a.TryGetValue(Marker, out var m) && m == "true") seenPaused = true;
                        await Task.Delay(50);
                    }
                });
                var sw = Stopwatch.StartNew();
                await s.SetFaultAsync("primary", "unready");
                await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(25));
                // Over once the standby has its replicas ready: then the pause goes.
                await s.WaitForReadyAsync("standby", 2, TimeSpan.FromSeconds(30));
                await ClusterFixture.WaitUntilAsync(async () => !(await AnnotationsAsync(s, "standby-scaler")).ContainsKey(Paused),
                    TimeSpan.FromSeconds(20), "the ScaledObject's pause removed after the failover");
                await stopWatching.CancelAsync();
                await watching;
                Assert.True(seenPaused, $"the ScaledObject was never seen with {Paused}=true and {Marker}=true during the failover ({sw.Elapsed.TotalSeconds:0.0}s)");
                var after = await AnnotationsAsync(s, "standby-scaler");
                Assert.False(after.ContainsKey(Marker), "the operator's marker is removed with its pause");
                var events = await s.PolicyEventsAsync();
                Assert.Contains(events, e => e.Reason == "AutoscalerPaused" && e.Message.Contains("standby-scaler", StringComparison.Ordinal));
                Assert.Contains(events, e => e.Reason == "AutoscalerResumed" && e.Message.Contains("standby-scaler", StringComparison.Ordinal));
            }
        }
        finally
        {
            await RemoveCrdAsync(s.Namespace);
        }
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Keda_NotInstalled_OperatorFailsOverAsBefore()
    {
        var s = await Scenario.CreateAsync(cluster, "nokeda");
        await RemoveCrdAsync(s.Namespace);
        await s.WaitForReadyAsync("primary", 2);
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
        await s.WaitForConditionAsync("Ready", "True");
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
        await ClusterFixture.WaitUntilAsync(async () => (await s.GetPolicyAsync()).Status?.Failover?.Last?.Reason == "Failover",
            TimeSpan.FromSeconds(10), "the failover recorded in status");
        Assert.DoesNotContain(await s.PolicyEventsAsync(), e => e.Reason is "AutoscalerPaused" or "Forbidden");
    }
}
