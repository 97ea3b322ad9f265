using System.Net;
using k8s;
using k8s.Models;

namespace ResilienceOperator.IntegrationTests.Harness;

/// <summary>
/// Proves that the local control plane and the node simulator behave like a cluster: the real
/// controllers create and replace pods, the simulator runs them, and faults show up where a
/// kubelet would put them.
/// </summary>
[Collection("cluster")]
public sealed class HarnessTests(ClusterFixture cluster)
{
    private const string Fault = "sim.resilience.dev/fault";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private IKubernetes Client => cluster.Client;

    private async Task<int> ReadyAsync(string ns, string name) =>
        (await Client.AppsV1.ReadNamespacedDeploymentAsync(name, ns)).Status?.ReadyReplicas ?? 0;

    private async Task<IList<V1Pod>> PodsAsync(string ns, string app) =>
        (await Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "app=" + app)).Items.Where(p => p.Metadata.DeletionTimestamp is null).ToList();

    private async Task<string> CreateAppAsync(string prefix, int replicas)
    {
        var ns = await cluster.CreateNamespaceAsync(prefix);
        await Client.AppsV1.CreateNamespacedDeploymentAsync(
            ClusterFixture.Deployment("web", ns, replicas, new Dictionary<string, string> { ["app"] = "web" }), ns);
        await ClusterFixture.WaitUntilAsync(async () => await ReadyAsync(ns, "web") == replicas, TimeSpan.FromSeconds(30), $"web has {replicas} ready replicas");
        return ns;
    }

    private async Task SetFaultAsync(string ns, string? fault)
    {
        var value = fault is null ? "null" : $"\"{fault}\"";
        await Client.AppsV1.PatchNamespacedDeploymentAsync(
            new V1Patch("{\"metadata\":{\"annotations\":{\"" + Fault + "\":" + value + "}}}", V1Patch.PatchType.MergePatch), "web", ns);
    }

    private static async Task<HttpStatusCode> ProbeAsync(V1Pod pod)
    {
        using var response = await Http.GetAsync(new Uri($"http://{pod.Status.PodIP}:8080/healthz"));
        return response.StatusCode;
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Deployment_ReachesReadyReplicas_OnLoopbackPodIps_AndScales()
    {
        var ns = await CreateAppAsync("h-scale", 3);
        var pods = await PodsAsync(ns, "web");
        Assert.Equal(3, pods.Count);
        Assert.All(pods, p =>
        {
            Assert.Equal("Running", p.Status.Phase);
            Assert.StartsWith("127.", p.Status.PodIP, StringComparison.Ordinal);
            Assert.Contains(p.Status.Conditions, c => c.Type == "Ready" && c.Status == "True");
        });
        Assert.Equal(3, pods.Select(p => p.Status.PodIP).Distinct().Count());
        foreach (var p in pods) Assert.Equal(HttpStatusCode.OK, await ProbeAsync(p));

        await Client.AppsV1.PatchNamespacedDeploymentScaleAsync(new V1Patch("{\"spec\":{\"replicas\":1}}", V1Patch.PatchType.MergePatch), "web", ns);
        await ClusterFixture.WaitUntilAsync(async () => (await PodsAsync(ns, "web")).Count == 1 && await ReadyAsync(ns, "web") == 1,
            TimeSpan.FromSeconds(30), "web scaled to 1 pod");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task DeletedPod_IsReplacedByTheReplicaSet()
    {
        var ns = await CreateAppAsync("h-replace", 2);
        var victim = (await PodsAsync(ns, "web"))[0];
        await Client.CoreV1.DeleteNamespacedPodAsync(victim.Metadata.Name, ns);
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            var pods = await PodsAsync(ns, "web");
            return pods.Count == 2 && pods.All(p => p.Metadata.Name != victim.Metadata.Name)
                && pods.All(p => p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true);
        }, TimeSpan.FromSeconds(30), "a replacement pod is Ready");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Jobs_SucceedOrFail_AsAnnotated()
    {
        var ns = await cluster.CreateNamespaceAsync("h-job");
        V1Job Job(string name, string exitCode) => new()
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta
                    {
                        Annotations = new Dictionary<string, string> { ["sim.resilience.dev/duration"] = "500ms", ["sim.resilience.dev/exit-code"] = exitCode },
                    },
                    Spec = new V1PodSpec { RestartPolicy = "Never", Containers = [new V1Container { Name = "task", Image = "sim/task:1" }] },
                },
            },
        };
        await Client.BatchV1.CreateNamespacedJobAsync(Job("ok", "0"), ns);
        await Client.BatchV1.CreateNamespacedJobAsync(Job("broken", "3"), ns);
        await ClusterFixture.WaitUntilAsync(async () => (await Client.BatchV1.ReadNamespacedJobAsync("ok", ns)).Status?.Succeeded == 1,
            TimeSpan.FromSeconds(30), "job ok succeeded");
        await ClusterFixture.WaitUntilAsync(async () => (await Client.BatchV1.ReadNamespacedJobAsync("broken", ns)).Status?.Failed >= 1,
            TimeSpan.FromSeconds(30), "job broken failed");
        var failedPod = (await Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "job-name=broken")).Items.Single();
        Assert.Equal("Failed", failedPod.Status.Phase);
        Assert.Equal(3, failedPod.Status.ContainerStatuses.Single().State.Terminated.ExitCode);
        var okJob = await Client.BatchV1.ReadNamespacedJobAsync("ok", ns);
        Assert.Contains(okJob.Status.Conditions, c => c.Type == "Complete" && c.Status == "True");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Unready_DropsReadyCountAndAnswers503_AndRecovers()
    {
        var ns = await CreateAppAsync("h-unready", 2);
        await SetFaultAsync(ns, "unready");
        await ClusterFixture.WaitUntilAsync(async () => await ReadyAsync(ns, "web") == 0, TimeSpan.FromSeconds(10), "ready count drops to 0");
        foreach (var p in await PodsAsync(ns, "web")) Assert.Equal(HttpStatusCode.ServiceUnavailable, await ProbeAsync(p));

        await SetFaultAsync(ns, null);
        await ClusterFixture.WaitUntilAsync(async () => await ReadyAsync(ns, "web") == 2, TimeSpan.FromSeconds(10), "ready count back to 2");
        foreach (var p in await PodsAsync(ns, "web")) Assert.Equal(HttpStatusCode.OK, await ProbeAsync(p));
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task HttpFail_KeepsPodsReady_WhileProbesAnswer503()
    {
        var ns = await CreateAppAsync("h-httpfail", 2);
        await SetFaultAsync(ns, "http-fail");
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            foreach (var p in await PodsAsync(ns, "web"))
                if (await ProbeAsync(p) != HttpStatusCode.ServiceUnavailable) return false;
            return true;
        }, TimeSpan.FromSeconds(5), "probes answer 503");
        Assert.Equal(2, await ReadyAsync(ns, "web"));
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Crash_RestartsContainers_IntoCrashLoopBackOff()
    {
        var ns = await CreateAppAsync("h-crash", 1);
        await SetFaultAsync(ns, "crash");
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            var status = (await PodsAsync(ns, "web")).Single().Status.ContainerStatuses?.SingleOrDefault();
            return status is { Ready: false, RestartCount: > 0 } && status.State?.Waiting?.Reason == "CrashLoopBackOff";
        }, TimeSpan.FromSeconds(15), "container restarting in CrashLoopBackOff");
        await ClusterFixture.WaitUntilAsync(async () => await ReadyAsync(ns, "web") == 0, TimeSpan.FromSeconds(10), "the Deployment counts no ready replica");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task ReadinessGate_HoldsPodNotReady_UntilItsConditionIsTrue()
    {
        var ns = await cluster.CreateNamespaceAsync("h-gate");
        var d = ClusterFixture.Deployment("web", ns, 1, new Dictionary<string, string> { ["app"] = "web" });
        d.Spec.Template.Spec.ReadinessGates = [new V1PodReadinessGate { ConditionType = "example.com/ready" }];
        await Client.AppsV1.CreateNamespacedDeploymentAsync(d, ns);
        await ClusterFixture.WaitUntilAsync(async () => (await PodsAsync(ns, "web")).SingleOrDefault()?.Status?.Phase == "Running",
            TimeSpan.FromSeconds(30), "gated pod running");
        await Task.Delay(1500);
        var pod = (await PodsAsync(ns, "web")).Single();
        Assert.Contains(pod.Status.Conditions, c => c.Type == "ContainersReady" && c.Status == "True");
        Assert.Contains(pod.Status.Conditions, c => c.Type == "Ready" && c.Status == "False");

        var patch = "{\"status\":{\"conditions\":[{\"type\":\"example.com/ready\",\"status\":\"True\"}]}}";
        await Client.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch(patch, V1Patch.PatchType.StrategicMergePatch), pod.Metadata.Name, ns);
        await ClusterFixture.WaitUntilAsync(async () => await ReadyAsync(ns, "web") == 1, TimeSpan.FromSeconds(10), "gated pod Ready once its gate is True");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Kubectl_AppliesAManifest()
    {
        var ns = await cluster.CreateNamespaceAsync("h-kubectl");
        var file = Path.Combine(Path.GetTempPath(), $"resilience-cm-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, $"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\ndata:\n  mode: strict\n");
        try
        {
            var (code, stdout, stderr) = await cluster.RunKubectlAsync("apply", "-f", file);
            Assert.True(code == 0, stdout + stderr);
            Assert.Contains("configmap/settings created", stdout, StringComparison.Ordinal);
            var cm = await Client.CoreV1.ReadNamespacedConfigMapAsync("settings", ns);
            Assert.Equal("strict", cm.Data["mode"]);
        }
        finally { File.Delete(file); }
    }
}
