using System.Diagnostics;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Operator;

/// <summary>A primary and a standby Deployment, a Service, and a policy over them, in one namespace.</summary>
internal sealed class Scenario(ClusterFixture cluster, string ns)
{
    public const string Fault = "sim.resilience.dev/fault";
    public string Namespace => ns;
    public IKubernetes Client => cluster.Client;

    public static async Task<Scenario> CreateAsync(ClusterFixture cluster, string prefix, int primaryReplicas = 2, int standbyReplicas = 2,
        IDictionary<string, string>? sharedLabels = null)
    {
        var ns = await cluster.CreateNamespaceAsync(prefix);
        var s = new Scenario(cluster, ns);
        foreach (var (name, replicas) in new[] { ("primary", primaryReplicas), ("standby", standbyReplicas) })
        {
            var labels = new Dictionary<string, string> { ["app"] = name };
            foreach (var kv in sharedLabels ?? new Dictionary<string, string>()) labels[kv.Key] = kv.Value;
            await cluster.Client.AppsV1.CreateNamespacedDeploymentAsync(ClusterFixture.Deployment(name, ns, replicas, labels), ns);
        }
        await cluster.Client.CoreV1.CreateNamespacedServiceAsync(
            ClusterFixture.Service("checkout", ns, new Dictionary<string, string> { ["app"] = "checkout" }), ns);
        return s;
    }

    public static ResiliencePolicy Policy(string ns, Action<ResiliencePolicySpec>? configure = null)
    {
        var policy = new ResiliencePolicy
        {
            Metadata = new V1ObjectMeta { Name = "checkout", NamespaceProperty = ns },
            Spec = new ResiliencePolicySpec
            {
                Targets = [new TargetSpec { Name = "primary", Priority = 0 }, new TargetSpec { Name = "standby", Priority = 10 }],
                Service = new ServiceReference { Name = "checkout" },
                Redundancy = new RedundancySpec { MinReplicas = 2 },
                HealthCheck = new HealthCheckSpec { Interval = "1s", Timeout = "500ms", Retries = 2, Http = new HttpProbeSpec { Path = "/healthz", Port = 8080 } },
                Failover = new FailoverSpec { FailbackDelay = "4s" },
            },
        };
        configure?.Invoke(policy.Spec);
        return policy;
    }

    public async Task ApplyPolicyAsync(ResiliencePolicy policy)
    {
        policy.Metadata.NamespaceProperty = ns;
        await Client.CustomObjects.CreateNamespacedCustomObjectAsync(policy, GroupVersion.Group, GroupVersion.Version, ns, ResiliencePolicy.KubePluralName);
    }

    public async Task<ResiliencePolicy> GetPolicyAsync(string name = "checkout")
    {
        var body = await Client.CustomObjects.GetNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, ns, ResiliencePolicy.KubePluralName, name);
        return KubernetesJson.Deserialize<ResiliencePolicy>((JsonElement)body);
    }

    public async Task<bool> PolicyExistsAsync(string name = "checkout")
    {
        try { await GetPolicyAsync(name); return true; }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound) { return false; }
    }

    public async Task<V1Condition?> ConditionAsync(string type, string name = "checkout") =>
        (await GetPolicyAsync(name)).Status?.Conditions?.FirstOrDefault(c => c.Type == type);

    public async Task<IDictionary<string, string>> SelectorAsync() =>
        (await Client.CoreV1.ReadNamespacedServiceAsync("checkout", ns)).Spec.Selector ?? new Dictionary<string, string>();

    public async Task<string?> SelectedAppAsync() => (await SelectorAsync()).TryGetValue("app", out var v) ? v : null;

    public async Task SetFaultAsync(string deployment, string? fault)
    {
        var value = fault is null ? "null" : $"\"{fault}\"";
        await Client.AppsV1.PatchNamespacedDeploymentAsync(
            new V1Patch("{\"metadata\":{\"annotations\":{\"" + Fault + "\":" + value + "}}}", V1Patch.PatchType.MergePatch), deployment, ns);
    }

    /// <summary>
    /// Waits until pods of <paramref name="deployment"/> have answered <paramref name="count"/> passing HTTP probes,
    /// counted from now (the node simulator sees each answer).
    /// </summary>
    public async Task WaitForPassingProbesAsync(string deployment, int count, TimeSpan timeout)
    {
        var answers = 0;
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnAnswered(string podNs, string pod, bool failing)
        {
            if (podNs == ns && !failing && pod.StartsWith(deployment + "-", StringComparison.Ordinal) && Interlocked.Increment(ref answers) >= count)
                reached.TrySetResult();
        }
        cluster.Simulator.Answered += OnAnswered;
        try
        {
            await reached.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out after {timeout.TotalSeconds:0}s waiting for {count} passing probes of {deployment} ({answers} seen)");
        }
        finally
        {
            cluster.Simulator.Answered -= OnAnswered;
        }
    }

    public async Task<V1Deployment> DeploymentAsync(string name) => await Client.AppsV1.ReadNamespacedDeploymentAsync(name, ns);

    public async Task WaitForReadyAsync(string deployment, int replicas, TimeSpan? timeout = null) =>
        await ClusterFixture.WaitUntilAsync(async () => (await DeploymentAsync(deployment)).Status?.ReadyReplicas >= replicas,
            timeout ?? TimeSpan.FromSeconds(30), $"{deployment} has {replicas} ready replicas");

    /// <summary>Waits until the Service selects <paramref name="app"/>; returns how long that took.</summary>
    public async Task<TimeSpan> WaitForSelectedAsync(string app, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        await ClusterFixture.WaitUntilAsync(async () => await SelectedAppAsync() == app, timeout, $"Service selects {app}");
        return sw.Elapsed;
    }

    public async Task WaitForConditionAsync(string type, string status, string? reason = null, TimeSpan? timeout = null, string name = "checkout") =>
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            var c = await ConditionAsync(type, name);
            return c?.Status == status && (reason is null || c.Reason == reason);
        }, timeout ?? TimeSpan.FromSeconds(20), $"policy {name} condition {type}={status}{(reason is null ? "" : " reason " + reason)}");

    public async Task<IList<Corev1Event>> PolicyEventsAsync() =>
        (await Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: "involvedObject.kind=ResiliencePolicy")).Items;

    /// <summary>
    /// The events of <paramref name="kind"/> once one matches (at most 10 s): the operator writes
    /// events off the reconcile path, so one may land just after the status that announced it.
    /// </summary>
    public async Task<IList<Corev1Event>> EventsOnceAsync(Func<Corev1Event, bool> match, string kind = "ResiliencePolicy")
    {
        IList<Corev1Event> events = [];
        await ClusterFixture.WaitUntilAsync(async () =>
        {
            events = (await Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: "involvedObject.kind=" + kind)).Items;
            return events.Any(match);
        }, TimeSpan.FromSeconds(10), $"a {kind} event as expected");
        return events;
    }
}
