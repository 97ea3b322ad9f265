using System.Diagnostics;
using k8s;
using k8s.Models;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;
using Xunit.Abstractions;

namespace ResilienceOperator.IntegrationTests.Chaos;

/// <summary>Faults of the API server itself, on a control plane of their own.</summary>
[Collection("chaos-cluster")]
public sealed class ApiServerOutageTests(ChaosClusterFixture cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan FailoverBound = TimeSpan.FromSeconds(1 * 2 + 2); // interval × retries + 2 s

    [Fact(Timeout = 240_000)]
    public async Task ApiServerStopped60s_TwoLeaderElectingReplicas_NeitherExitsAndALeaderFailsOverAfter()
    {
        var s = await Scenario.CreateAsync(cluster, "outage");
        await s.WaitForReadyAsync("primary", 2);
        await s.WaitForReadyAsync("standby", 2);
        await using var a = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "a");
        await using var b = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "b");
        await ClusterFixture.WaitUntilAsync(async () => await a.LeadingAsync() || await b.LeadingAsync(), TimeSpan.FromSeconds(45), "a leader");
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30));

        await cluster.StopApiServerAsync();
        try
        {
            var outage = Stopwatch.StartNew();
            while (outage.Elapsed < TimeSpan.FromSeconds(60))
            {
                foreach (var replica in new[] { a, b })
                {
                    Assert.False(replica.HasExited, $"replica {replica.Identity} exited during the outage:\n{replica.Output}");
                    Assert.True(await replica.HealthyAsync(), $"replica {replica.Identity}: /healthz did not answer {outage.Elapsed.TotalSeconds:0}s into the outage");
                }
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
        finally
        {
            await cluster.StartApiServerAsync();
        }

        var back = Stopwatch.StartNew();
        await ClusterFixture.WaitUntilAsync(async () => await a.LeadingAsync() || await b.LeadingAsync(), TimeSpan.FromSeconds(20),
            "a replica leads within 20 s of the API server's return");
        var lease = await cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync("resilience-operator-leader", s.Namespace);
        Assert.False(string.IsNullOrEmpty(lease.Spec.HolderIdentity));
        output.WriteLine($"API server back -> a leader: {back.Elapsed.TotalSeconds:0.0} s (holder {lease.Spec.HolderIdentity})");
        Assert.False(a.HasExited || b.HasExited, a.Output + b.Output);

        // The new term acts: a fault is failed over within its bound.
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(20));
        await s.SetFaultAsync("primary", "unready");
        var took = await s.WaitForSelectedAsync("standby", FailoverBound + TimeSpan.FromSeconds(1));
        output.WriteLine($"fault -> Service switched after the outage: {took.TotalSeconds:0.00} s");
    }

    [Fact(Timeout = 180_000)]
    public async Task StartedWhileTheApiServerIsDown_WaitsWithoutExitingThenLeadsAndActs()
    {
        var s = await Scenario.CreateAsync(cluster, "cold-start");
        await s.WaitForReadyAsync("primary", 2);
        await s.WaitForReadyAsync("standby", 2);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
        await cluster.StopApiServerAsync();
        OperatorProcess op;
        try
        {
            // A pod restarted during an outage: it must wait, not crash into CrashLoopBackOff.
            op = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "cold");
            var outage = Stopwatch.StartNew();
            while (outage.Elapsed < TimeSpan.FromSeconds(8))
            {
                Assert.False(op.HasExited, $"the operator exited while the API server was down:\n{op.Output}");
                await Task.Delay(TimeSpan.FromMilliseconds(500));
            }
            Assert.True(await op.HealthyAsync(), "/healthz does not answer while the API server is down");
        }
        finally
        {
            await cluster.StartApiServerAsync();
        }
        await using (op)
        {
            await ClusterFixture.WaitUntilAsync(op.LeadingAsync, TimeSpan.FromSeconds(30), "the operator leads once the API server is back");
            await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30));
            await s.SetFaultAsync("primary", "unready");
            await s.WaitForSelectedAsync("standby", FailoverBound + TimeSpan.FromSeconds(1));
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task WatchExpired_CachesRelist_HandEditUndoneDeletedTargetReportedNoWatchStorm()
    {
        var s = await Scenario.CreateAsync(cluster, "expiry");
        await s.WaitForReadyAsync("primary", 2);
        await using var op = OperatorProcess.Start(cluster.KubeconfigPath, s.Namespace, "w", leaderElect: false);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(30));
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(20));

        // Every version the operator's watches stand on is older than this one. Once etcd has
        // compacted past it (every 10 s on this control plane), resuming a watch from it is 410 Gone.
        var services = await cluster.Client.CoreV1.ListNamespacedServiceAsync(s.Namespace);
        var rv = services.Metadata.ResourceVersion;
        await ClusterFixture.WaitUntilAsync(() => WatchIsGoneAsync(s.Namespace, rv), TimeSpan.FromSeconds(90), $"etcd compacted past {rv}");

        // The watches break; they come back on versions that are gone.
        await cluster.StopApiServerAsync();
        await cluster.StartApiServerAsync();
        var since = Stopwatch.StartNew();

        // A hand edit of the Service's selector is seen and undone: the service cache is live again.
        await cluster.Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"spec":{"selector":{"app":"hand-edit"}}}""", V1Patch.PatchType.MergePatch), "checkout", s.Namespace);
        // Within 60 s: a watch request the restarting API server took and never answered fails at its
        // response-headers deadline (15 s); one left on a connection that died with the old API server
        // is found by the HTTP/2 pings (30 s idle + 15 s), as client-go finds it.
        try
        {
            await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(60));
        }
        catch (Exception)
        {
            // For diagnosis: whether the API server holds the operator's Service watch at all.
            var watchers = await ApiServerMetricAsync("apiserver_registered_watchers", "kind=\"Service\"");
            output.WriteLine($"apiserver_registered_watchers{{kind=Service}} = {watchers}; operator log: {op.Output}");
            throw;
        }
        // A deleted target is reported: the deployment cache is live again.
        await cluster.Client.AppsV1.DeleteNamespacedDeploymentAsync("standby", s.Namespace);
        await s.WaitForConditionAsync("Ready", "False", "InvalidSpec", TimeSpan.FromSeconds(30));
        Assert.Contains("standby", (await s.ConditionAsync("Ready"))!.Message, StringComparison.Ordinal);

        var expired = await op.MetricAsync("resilience_informer_watch_errors_total", "reason=\"expired\"");
        Assert.True(expired >= 1, $"no watch of the operator saw 410 Gone (resilience_informer_watch_errors_total expired = {expired}): the test did not reach the relist path");
        // A watch re-opened at once on an expired version would be hundreds of WATCH requests.
        var minutes = Math.Max(1, since.Elapsed.TotalMinutes);
        foreach (var resource in new[] { "services", "deployments", "pods", "resiliencepolicies" })
        {
            var watches = await ApiServerWatchesAsync(resource);
            output.WriteLine($"WATCH {resource}: {watches} in {since.Elapsed.TotalSeconds:0} s since the API server restarted");
            Assert.True(watches <= 12 * minutes, $"{watches} WATCH requests for {resource} in {since.Elapsed.TotalSeconds:0} s: a watch storm");
        }
    }

    /// <summary>Whether a watch of the namespace's Services from <paramref name="rv"/> is refused as expired (410 Gone).</summary>
    private async Task<bool> WatchIsGoneAsync(string ns, string rv)
    {
        Exception? error = null;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
#pragma warning disable CS0618 // the typed watch helper is the one that reports ERROR events to its callback
            var watch = cluster.Client.CoreV1.ListNamespacedServiceWithHttpMessagesAsync(ns, watch: true, resourceVersion: rv, timeoutSeconds: 1, cancellationToken: cts.Token);
            await foreach (var (type, _) in watch.WatchAsync<V1Service, V1ServiceList>(e => error = e, cts.Token))
                if (type == WatchEventType.Error) return true;
#pragma warning restore CS0618
        }
        catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or OperationCanceledException or IOException)
        {
            error ??= e;
        }
        return error is KubernetesException { Status.Code: 410 }
            || (error?.Message.Contains("too old resource version", StringComparison.OrdinalIgnoreCase) ?? false)
            || error is k8s.Autorest.HttpOperationException { Response.StatusCode: System.Net.HttpStatusCode.Gone };
    }

    /// <summary>apiserver_request_total for WATCH of one resource, summed over clients and codes (the counters start with the API server).</summary>
    private Task<double> ApiServerWatchesAsync(string resource) =>
        ApiServerMetricAsync("apiserver_request_total", "verb=\"WATCH\"", $"resource=\"{resource}\"");

    private async Task<double> ApiServerMetricAsync(string name, params string[] labels)
    {
        var (code, stdout, stderr) = await cluster.RunKubectlAsync("get", "--raw", "/metrics");
        Assert.True(code == 0, stderr);
        return PrometheusText.Sum(stdout, name, labels);
    }
}
