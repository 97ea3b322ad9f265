using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Demo;

/// <summary>
/// The README's first command: a local control plane, the sample application and policy, the
/// operator, a fault in the primary, and everything that follows, printed as it happens.
/// </summary>
internal sealed class DemoRun(bool watch)
{
    private const string Ns = "demo";
    private readonly StatusWatch _watch = new();
    private string? _drill;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        Step("Starting the local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) and the node simulator");
        var logFile = Path.Combine(Path.GetTempPath(), "resilience-operator-demo.log");
        using var loggers = LoggerFactory.Create(b => b.AddProvider(new FileLoggerProvider(logFile)).SetMinimumLevel(LogLevel.Information));
        // RESILIENCE_DEMO_CLUSTER names the state folder under .local/, so a test can run the demo beside a person's own.
        await using var cluster = await LocalCluster.StartAsync(Environment.GetEnvironmentVariable("RESILIENCE_DEMO_CLUSTER") ?? "demo", loggers);
        Console.WriteLine($"  kubeconfig: {cluster.Kubeconfig}   operator log: {logFile}");
        await cluster.KubectlAsync("create", "namespace", Ns);

        Step("Installing config/samples: checkout-primary (3 pods), checkout-standby (1 pod), Service checkout, " +
             "ResiliencePolicy checkout with backups every 10 s");
        var (code, output) = await cluster.KubectlAsync("apply", "--validate=false", "-n", Ns, "-f", Path.Combine(cluster.RepoRoot, "config", "samples"));
        if (code != 0) { Console.Error.WriteLine(output); return 1; }

        Step("Starting the operator");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var opClient = Kubernetes.ApiClient.Create(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.Kubeconfig));
        using var host = new OperatorHost(opClient, new OperatorOptions { Namespaces = [Ns], Port = 0 }, loggers);
        var opTask = Task.Run(() => host.RunAsync(stop.Token), CancellationToken.None);
        _watch.Clock.Start();
        var c = cluster.Client;

        await WatchUntilAsync(c, s => s.Ready == "True", TimeSpan.FromSeconds(60), "policy Ready", ct);
        Step("Waiting for the first scheduled backup (every 10 s; the simulator runs the backup Job for 1 s)");
        await WatchUntilAsync(c, s => s.Policy?.Status?.Backup?.LastCompleted is not null, TimeSpan.FromSeconds(40), "a completed backup", ct);
        var first = (await GetPolicy(c)).Status!.Backup!;
        Console.WriteLine($"  => backup {first.LastCompleted} completed at {first.LastCompletedTime:HH:mm:ss}; next due {first.NextScheduleTime:HH:mm:ss}");

        Step("Verifying it: ResilienceDrill verify-now (VerifyBackup) restores the backup into a scratch copy of checkout-primary " +
             "that no Service selects, runs the verify Job against it, and removes the copy");
        ResilienceDrill? tested = null;
        // A guard rail may refuse it (a busy machine can fail a health check now and then): wait for Ready and ask again.
        for (var attempt = 1; attempt <= 3 && tested?.Status?.Phase is null or DrillPhase.Aborted; attempt++)
        {
            if (tested is not null)
            {
                Console.WriteLine($"  => restore test refused ({tested.Status!.Message}); asking again once the policy is Ready");
                await WatchUntilAsync(c, s => s.Ready == "True", TimeSpan.FromSeconds(30), "policy Ready", ct);
            }
            var verify = new ResilienceDrill
            {
                Metadata = new V1ObjectMeta { Name = attempt == 1 ? "verify-now" : $"verify-now-{attempt}", NamespaceProperty = Ns },
                Spec = new ResilienceDrillSpec { Policy = "checkout", Action = DrillAction.VerifyBackup },
            };
            await c.CustomObjects.CreateNamespacedCustomObjectAsync(verify, GroupVersion.Group, GroupVersion.Version, Ns,
                ResilienceDrill.KubePluralName, cancellationToken: ct);
            _drill = verify.Metadata.Name;
            await WatchUntilAsync(c, s => s.Drill?.Status?.Phase is DrillPhase.Passed or DrillPhase.Failed or DrillPhase.Aborted,
                TimeSpan.FromSeconds(60), "the restore test's verdict", ct);
            tested = await GetDrill(c, verify.Metadata.Name);
        }
        _drill = null;
        Console.WriteLine($"  => restore test {tested!.Status!.Phase}: {tested.Status.Message}");
        if (tested.Status.Phase != DrillPhase.Passed) { Console.Error.WriteLine("demo: the restore test did not pass"); return 1; }

        Step("Injecting a fault: checkout-primary's pods stop being ready (sim.resilience.dev/fault=unready)");
        var faultAt = _watch.Clock.Elapsed;
        await Annotate(c, "checkout-primary", "\"unready\"");
        await WatchUntilAsync(c, s => s.Selected == "standby", TimeSpan.FromSeconds(30), "traffic on checkout-standby", ct);
        var switchedAt = _watch.Clock.Elapsed;
        // The Service moves first; the failover record follows in the next status write.
        var policy = await GetPolicy(c);
        for (var i = 0; i < 50 && policy.Status?.Failover?.Last?.To is null; i++)
        {
            await Task.Delay(100, ct);
            policy = await GetPolicy(c);
        }
        var last = policy.Status?.Failover?.Last;
        Console.WriteLine($"  => failover: {last?.From} -> {last?.To}; detection {last?.DetectionSeconds:0.00}s, " +
                          $"switch {last?.SwitchSeconds:0.000}s after the verdict; " +
                          $"{(switchedAt - faultAt).TotalSeconds:0.00}s from fault to Service switch (bound: interval 1s x retries 2 + 2s = 4s)");

        Step("onFail: FailoverAndRestore - the failed primary is restored from the last known good backup " +
             "(completed before its last passing check, a verified one preferred) while the standby serves");
        await WatchUntilAsync(c, s => s.RestorePhase == "Completed", TimeSpan.FromSeconds(60), "the restore to complete", ct);
        var incident = (await GetPolicy(c)).Status?.Incidents?.LastOrDefault(x => x.Restore is not null);
        Console.WriteLine($"  => restore {incident?.Restore} applied backup {incident?.Backup} to {incident?.Target} " +
                          $"({incident?.BackupReason}); traffic may return only now, once the primary is healthy");

        Step("Removing the fault: checkout-primary recovers; traffic returns after failbackDelay (8s) of continuous health");
        await Annotate(c, "checkout-primary", "null");
        var healedAt = _watch.Clock.Elapsed;
        // The Service switches first, then the status records it; the drill's guard rails read the status.
        await WatchUntilAsync(c, s => s.Selected == "primary" && s.Policy?.Status?.Conditions?.Any(x => x.Type == "FailedOver" && x.Status == "False") == true,
            TimeSpan.FromSeconds(40), "traffic back on checkout-primary, and the status saying so", ct);
        policy = await GetPolicy(c);
        for (var i = 0; i < 50 && policy.Status?.Objectives?.LastRtoSeconds is null; i++)
        {
            await Task.Delay(100, ct);
            policy = await GetPolicy(c);
        }
        Console.WriteLine($"  => failback {(_watch.Clock.Elapsed - healedAt).TotalSeconds:0.0}s after the fault was removed; " +
                          $"failovers so far: {policy.Status?.Failover?.Count}");
        var objectives = policy.Status?.Objectives;
        Console.WriteLine($"  => measured RTO {objectives?.LastRtoSeconds:0.0}s (objective 30s, met: {objectives?.RtoMet}); " +
                          $"measured RPO {objectives?.RpoSeconds:0.0}s (objective 1m, met: {objectives?.RpoMet})");

        Step("A drill proves it: ResilienceDrill game-day (FailTarget) takes checkout-primary down on purpose; " +
             "it passes only if the policy serves again within its RTO (30s)");
        var drill = new ResilienceDrill
        {
            Metadata = new V1ObjectMeta { Name = "game-day", NamespaceProperty = Ns },
            Spec = new ResilienceDrillSpec { Policy = "checkout", Action = DrillAction.FailTarget, MaxUnavailable = 1 },
        };
        await c.CustomObjects.CreateNamespacedCustomObjectAsync(drill, GroupVersion.Group, GroupVersion.Version, Ns,
            ResilienceDrill.KubePluralName, cancellationToken: ct);
        _drill = drill.Metadata.Name;
        await WatchUntilAsync(c, s => s.Drill?.Status?.Phase is DrillPhase.Passed or DrillPhase.Failed or DrillPhase.Aborted,
            TimeSpan.FromSeconds(90), "the drill's verdict", ct);
        var verdict = await GetDrill(c, drill.Metadata.Name);
        Console.WriteLine($"  => drill {verdict!.Status!.Phase}: {verdict.Status.Message}");
        if (verdict.Status.Phase != DrillPhase.Passed) { Console.Error.WriteLine("demo: the drill did not pass"); return 1; }
        Step("The drill removed its fault: checkout-primary is scaled back, restored, and gets the traffic back after failbackDelay");
        await WatchUntilAsync(c, s => s.Selected == "primary" && s.Ready == "True", TimeSpan.FromSeconds(60), "traffic back on checkout-primary", ct);
        var lastDrill = (await GetPolicy(c)).Status?.LastDrill;
        Console.WriteLine($"  => policy status.lastDrill: {lastDrill?.Name} {lastDrill?.Result} in {lastDrill?.RtoSeconds:0.00}s");

        Step("Summary");
        var (_, events) = await cluster.KubectlAsync("get", "events", "-n", Ns, "--field-selector", "involvedObject.kind=ResiliencePolicy",
            "--sort-by=.lastTimestamp", "-o", "custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message");
        Console.WriteLine(Indent(events));
        var (_, rp) = await cluster.KubectlAsync("get", "rp", "-n", Ns, "-o", "wide");
        Console.WriteLine(Indent(rp));
        if (watch)
        {
            Step("Watching (Ctrl-C to stop). Try: kubectl --kubeconfig " + cluster.Kubeconfig +
                 " -n demo annotate deploy checkout-primary sim.resilience.dev/fault=http-fail");
            try { await WatchUntilAsync(c, _ => false, Timeout.InfiniteTimeSpan, "never", stop.Token); } catch (OperationCanceledException) { }
        }
        await stop.CancelAsync();
        await opTask;
        return 0;
    }

    private sealed record Snapshot(string Line, string? Selected, string? Ready, ResiliencePolicy? Policy, string? RestorePhase, ResilienceDrill? Drill);

    private Task WatchUntilAsync(IKubernetes c, Func<Snapshot, bool> done, TimeSpan timeout, string what, CancellationToken ct = default) =>
        _watch.UntilAsync(() => Observe(c), s => s.Line, done, timeout, what, ct);

    private async Task<Snapshot> Observe(IKubernetes c)
    {
        ResiliencePolicy? policy = null;
        try { policy = await GetPolicy(c); } catch (k8s.Autorest.HttpOperationException) { }
        var svc = await c.CoreV1.ReadNamespacedServiceAsync("checkout", Ns);
        var selected = svc.Spec.Selector?.TryGetValue("app.kubernetes.io/instance", out var v) == true ? v : "?";
        var parts = new List<string>();
        foreach (var name in new[] { "checkout-primary", "checkout-standby" })
        {
            var d = await c.AppsV1.ReadNamespacedDeploymentAsync(name, Ns);
            var t = policy?.Status?.Targets?.FirstOrDefault(x => x.Name == name);
            var health = t is null ? "unchecked"
                : t.Healthy ? "healthy"
                : t.Message?.StartsWith("cold", StringComparison.Ordinal) == true ? "cold"
                : "UNHEALTHY";
            parts.Add($"{name[9..]} {d.Status?.ReadyReplicas ?? 0}/{d.Spec.Replicas} {health,-9}");
        }
        var ready = policy?.Status?.Conditions?.FirstOrDefault(x => x.Type == "Ready");
        var line = $"{string.Join(" | ", parts)} | Service -> {selected,-7} | Ready={ready?.Status ?? "-"} {ready?.Reason}";
        if (policy?.Status?.Backup?.LastCompleted is { } backup) line += $" | last backup {backup.Replace("checkout-", "", StringComparison.Ordinal)}";
        if (policy?.Status?.Backup?.LastVerified is { } verified) line += $" (verified {verified.Replace("checkout-", "", StringComparison.Ordinal)})";
        string? restorePhase = null;
        if (policy?.Status?.Incidents?.LastOrDefault(x => x.Restore is not null)?.Restore is { } restore)
        {
            try
            {
                var r = KubernetesJson.Deserialize<ResilienceRestore>((JsonElement)await c.CustomObjects.GetNamespacedCustomObjectAsync(
                    GroupVersion.Group, GroupVersion.Version, Ns, ResilienceRestore.KubePluralName, restore));
                restorePhase = r.Status?.Phase?.ToString() ?? "Pending";
                line += $" | restore {restorePhase}";
            }
            catch (k8s.Autorest.HttpOperationException) { }
        }
        var drill = _drill is null ? null : await GetDrill(c, _drill);
        if (drill is not null) line += $" | drill {drill.Status?.Phase?.ToString() ?? "Pending"}";
        return new Snapshot(line, selected, ready?.Status, policy, restorePhase, drill);
    }

    private static async Task<ResiliencePolicy> GetPolicy(IKubernetes c) => KubernetesJson.Deserialize<ResiliencePolicy>((JsonElement)
        await c.CustomObjects.GetNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, Ns, ResiliencePolicy.KubePluralName, "checkout"));

    private static async Task<ResilienceDrill?> GetDrill(IKubernetes c, string name)
    {
        try
        {
            return KubernetesJson.Deserialize<ResilienceDrill>((JsonElement)await c.CustomObjects.GetNamespacedCustomObjectAsync(
                GroupVersion.Group, GroupVersion.Version, Ns, ResilienceDrill.KubePluralName, name));
        }
        catch (k8s.Autorest.HttpOperationException) { return null; }
    }

    private static Task Annotate(IKubernetes c, string deployment, string value) =>
        c.AppsV1.PatchNamespacedDeploymentAsync(
            new V1Patch("{\"metadata\":{\"annotations\":{\"sim.resilience.dev/fault\":" + value + "}}}", V1Patch.PatchType.MergePatch),
            deployment, Ns);

    private void Step(string text)
    {
        Console.WriteLine();
        Console.WriteLine($"== [{_watch.Clock.Elapsed.TotalSeconds:0.0}s] {text}");
    }

    private static string Indent(string s) => string.Join(Environment.NewLine, s.TrimEnd().Split('\n').Select(l => "  " + l));
}
