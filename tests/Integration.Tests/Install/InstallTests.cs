using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using k8s;
using k8s.Models;
using ResilienceOperator.Demo;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Backups;
using ResilienceOperator.IntegrationTests.Chaos;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Install;

/// <summary>
/// Installing and operating it the way its users do: the Helm chart into the local control plane,
/// the operator published with the Dockerfile's own command and run as the chart's
/// ServiceAccount (a TokenRequest token, RBAC on), upgrade, uninstall, and a missing permission.
/// </summary>
[Collection("cluster")]
public sealed class InstallTests(ClusterFixture cluster)
{
    private const string CrdName = "resiliencepolicies.resilience.dev";

    /// <summary>
    /// Passed to every <c>helm install</c> and <c>helm upgrade</c> of the chart here (an upgrade
    /// without it would turn the default back on). The local control plane has no Service network:
    /// a ValidatingWebhookConfiguration pointing at the chart's webhook Service would make the API
    /// server dial a ClusterIP (10.96.x.x) on every write of the four kinds, which these tests must
    /// never do. The admission webhook itself is tested against a loopback URL in
    /// tests/Integration.Tests/Admission/.
    /// </summary>
    private static readonly string[] NoWebhook = ["--set", "webhook.enabled=false"];

    [Fact(Timeout = TestDeadline.Default)]
    public async Task HelmInstall_OperatorAsChartServiceAccount_FailsOverWithoutForbidden_UninstallKeepsWorkloads()
    {
        var system = await cluster.CreateNamespaceAsync("resilience-system");
        var chart = Path.Combine(cluster.RepoRoot, "charts", "resilience-operator");

        // Install. The fixture applied the CRD with kubectl; the chart takes it over.
        var install = await RunAsync("helm", ["install", "ro", chart, "-n", system, "--kubeconfig", cluster.KubeconfigPath, "--take-ownership", .. NoWebhook]);
        Assert.True(install.Code == 0, install.Output);
        var crd = await cluster.Client.ApiextensionsV1.ReadCustomResourceDefinitionAsync(CrdName);
        Assert.Equal("keep", crd.Metadata.Annotations["helm.sh/resource-policy"]);
        Assert.Empty((await cluster.Client.AdmissionregistrationV1.ListValidatingWebhookConfigurationAsync(labelSelector: "app.kubernetes.io/instance=ro")).Items);
        await cluster.Client.CoreV1.ReadNamespacedServiceAccountAsync("ro-resilience-operator", system);

        // Run the operator as published by the Dockerfile's command, with the chart's ServiceAccount.
        var token = await RunAsync("kubectl", "--kubeconfig", cluster.KubeconfigPath, "create", "token", "ro-resilience-operator", "-n", system, "--duration", "1h");
        Assert.True(token.Code == 0, token.Output);
        var kubeconfig = await LimitedCredentials.TokenKubeconfigAsync(cluster, token.Stdout.Trim());
        var s = await Scenario.CreateAsync(cluster, "installed");
        await s.WaitForReadyAsync("primary", 2);
        var port = FreePort();
        await using (var op = await PublishedOperator.StartAsync(cluster.RepoRoot, kubeconfig, port,
            "--namespaces", s.Namespace, "--leader-elect", "--lease-namespace", system, "--log-format", "json"))
        {
            // Backups every 2 s with retention, and a restore on failure: Jobs, backups, restores,
            // their deletion and status all go through the chart's RBAC too. keepLast 2: the backup
            // that completes just before the fault can complete after the last passing check, and
            // is then never restored automatically (last known good); the one before it is.
            await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec =>
            {
                BackupScenario.WithBackups(spec, "*/2 * * * * *", keepLast: 2);
                spec.Restore = new RestoreSpec { Template = BackupScenario.Template("1s") };
                spec.HealthCheck!.OnFail = FailAction.FailoverAndRestore;
            }));
            await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(30));
            await s.WaitForConditionAsync("Ready", "True");
            // Older completed backups are deleted as newer ones complete: count the completed backups
            // the status has recorded one after the other.
            // Two at least 2 s apart: the older surely completed before a passing check (every 1 s).
            var completed = new Dictionary<string, DateTime>();
            await BackupScenario.WaitAsync(async () =>
            {
                if ((await s.GetPolicyAsync()).Status?.Backup is { LastCompleted: { } last, LastCompletedTime: { } at }) completed[last] = at;
                return completed.Count >= 2 && completed.Values.Max() - completed.Values.Min() >= TimeSpan.FromSeconds(2);
            }, 30, "two completed backups at least 2 s apart");
            await s.SetFaultAsync("primary", "unready");
            await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
            await s.WaitForConditionAsync("FailedOver", "True");
            await BackupScenario.WaitAsync(async () => (await s.RestoresAsync()).Any(r => r.Status?.Phase == RunPhase.Completed), 30, "the restore of the primary completed");

            using var http = new HttpClient();
            var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            Assert.Matches(@"(?m)^leader_election_master_status(\{[^}]*\})? 1$", metrics);
            Assert.Contains("resilience_failovers_total{", metrics, StringComparison.Ordinal);
            Assert.Matches(@"(?m)^resilience_target_active\{[^}]*target=""standby""[^}]*\} 1$", metrics);
            Assert.Matches(@"(?m)^resilience_target_active\{[^}]*target=""primary""[^}]*\} 0$", metrics);
            Assert.Matches(@"(?m)^resilience_backups_total\{[^}]*result=""completed""[^}]*\} [1-9]", metrics);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz"))).StatusCode);
            // Least privilege that is still enough: not one request was refused.
            Assert.DoesNotContain("forbidden", op.Output, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("\"Forbidden\"", op.Output, StringComparison.Ordinal);
            var lease = await cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync("resilience-operator-leader", system);
            Assert.False(string.IsNullOrEmpty(lease.Spec.HolderIdentity));
        }
        var before = await SnapshotAsync(s.Namespace);

        // Uninstall: the operator's own objects go; the CRD (keep), the policies and the teams'
        // Deployments and Services stay exactly as they were.
        var uninstall = await RunAsync("helm", "uninstall", "ro", "-n", system, "--kubeconfig", cluster.KubeconfigPath);
        Assert.True(uninstall.Code == 0, uninstall.Output);
        await cluster.Client.ApiextensionsV1.ReadCustomResourceDefinitionAsync(CrdName);
        Assert.True(await s.PolicyExistsAsync());
        var roles = await cluster.Client.RbacAuthorizationV1.ListClusterRoleAsync(labelSelector: "app.kubernetes.io/instance=ro");
        Assert.Empty(roles.Items);
        Assert.Equal(before, await SnapshotAsync(s.Namespace));
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task HelmUpgrade_ChangedCrd_ReachesTheApiServer()
    {
        var system = await cluster.CreateNamespaceAsync("resilience-upgrade");
        var chart = Path.Combine(cluster.RepoRoot, "charts", "resilience-operator");
        // A release name of its own: a release another test left behind cannot clash with it.
        var install = await RunAsync("helm", ["install", "upg", chart, "-n", system, "--kubeconfig", cluster.KubeconfigPath, "--take-ownership", .. NoWebhook]);
        Assert.True(install.Code == 0, install.Output);
        try
        {
            // Upgrade with a changed CRD: the change reaches the API server.
            var changed = Path.Combine(Path.GetTempPath(), $"chart-{Guid.NewGuid():N}");
            CopyDirectory(chart, changed);
            try
            {
                var crdFile = Path.Combine(changed, "files", "crds", "resilience.dev_resiliencepolicies.yaml");
                var text = await File.ReadAllTextAsync(crdFile);
                const string Marker = "description: What the policy enforces.";
                Assert.Contains(Marker, text, StringComparison.Ordinal);
                await File.WriteAllTextAsync(crdFile, text.Replace(Marker, "description: What the policy enforces (upgraded).", StringComparison.Ordinal));
                // The CRD's fields are still owned by the kubectl apply that came before Helm took it over.
                var upgrade = await RunAsync("helm", ["upgrade", "upg", changed, "-n", system, "--kubeconfig", cluster.KubeconfigPath, "--force-conflicts", .. NoWebhook]);
                Assert.True(upgrade.Code == 0, upgrade.Output);
                var crd = await cluster.Client.ApiextensionsV1.ReadCustomResourceDefinitionAsync(CrdName);
                Assert.Contains("(upgraded)", crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Description, StringComparison.Ordinal);
            }
            finally { Directory.Delete(changed, recursive: true); }
            // And back: the rest of the suite runs against the chart's own CRD.
            var back = await RunAsync("helm", ["upgrade", "upg", chart, "-n", system, "--kubeconfig", cluster.KubeconfigPath, .. NoWebhook]);
            Assert.True(back.Code == 0, back.Output);
        }
        finally
        {
            await RunAsync("helm", "uninstall", "upg", "-n", system, "--kubeconfig", cluster.KubeconfigPath);
        }
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task HelmInstall_NamespacedRbac_OperatorWorksInItsWatchedNamespaceAndReadsNoSecretElsewhere()
    {
        var system = await cluster.CreateNamespaceAsync("resilience-ns");
        var s = await Scenario.CreateAsync(cluster, "watched");
        var chart = Path.Combine(cluster.RepoRoot, "charts", "resilience-operator");
        // The CRDs are already there (the fixture's, or another release's): this release leaves them alone.
        var install = await RunAsync("helm", ["install", "scoped", chart, "-n", system, "--kubeconfig", cluster.KubeconfigPath,
            "--set", "crds.install=false", "--set", "rbac.clusterWide=false", "--set", $"watchNamespaces={{{s.Namespace}}}", .. NoWebhook]);
        Assert.True(install.Code == 0, install.Output);
        try
        {
            var account = $"system:serviceaccount:{system}:scoped-resilience-operator";
            async Task<string> CanIAsync(params string[] args)
            {
                var r = await RunAsync("kubectl", ["--kubeconfig", cluster.KubeconfigPath, "auth", "can-i", .. args, "--as", account]);
                return r.Stdout.Trim();
            }
            Assert.Equal("yes", await CanIAsync("get", "secrets", "-n", s.Namespace));
            Assert.Equal("no", await CanIAsync("get", "secrets", "-n", "default"));
            Assert.Equal("no", await CanIAsync("patch", "services", "-n", "default"));
            Assert.Equal("no", await CanIAsync("list", "resiliencepolicies.resilience.dev", "--all-namespaces"));
            Assert.Equal("yes", await CanIAsync("update", "leases.coordination.k8s.io", "-n", system));

            var token = await RunAsync("kubectl", "--kubeconfig", cluster.KubeconfigPath, "create", "token", "scoped-resilience-operator", "-n", system, "--duration", "1h");
            Assert.True(token.Code == 0, token.Output);
            var kubeconfig = await LimitedCredentials.TokenKubeconfigAsync(cluster, token.Stdout.Trim());
            await s.WaitForReadyAsync("primary", 2);
            var port = FreePort();
            // The arguments the chart gives the operator: its namespaces and its own Lease.
            await using var op = await PublishedOperator.StartAsync(cluster.RepoRoot, kubeconfig, port,
                "--namespaces", s.Namespace, "--leader-elect", "--lease-namespace", system, "--lease-name", "scoped-resilience-operator-leader", "--log-format", "json");
            await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
            await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(30));
            await s.WaitForConditionAsync("Ready", "True");
            await s.SetFaultAsync("primary", "unready");
            await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(15));
            await s.WaitForConditionAsync("FailedOver", "True");
            Assert.DoesNotContain("forbidden", op.Output, StringComparison.OrdinalIgnoreCase);
            var lease = await cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync("scoped-resilience-operator-leader", system);
            Assert.False(string.IsNullOrEmpty(lease.Spec.HolderIdentity));
        }
        finally
        {
            await RunAsync("helm", "uninstall", "scoped", "-n", system, "--kubeconfig", cluster.KubeconfigPath);
        }
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task HelmInstall_TwoShardsAndTheDefault_ADeploymentAndLeaseEach_RunAsTheirDeploymentsSayEachReconcilesOnlyItsOwn()
    {
        const string ShardLabel = "resilience.dev/shard";
        const string Fullname = "sharded-resilience-operator";
        var deadline = TimeSpan.FromSeconds(60);
        var system = await cluster.CreateNamespaceAsync("resilience-shards");
        // A namespace and a policy per shard: labelled for a and b, unlabelled for the default shard.
        var shards = new Dictionary<string, Scenario>
        {
            ["a"] = await Scenario.CreateAsync(cluster, "chart-shard-a"),
            ["b"] = await Scenario.CreateAsync(cluster, "chart-shard-b"),
            ["default"] = await Scenario.CreateAsync(cluster, "chart-shard-default"),
        };
        var namespaces = string.Join(",", shards.Values.Select(s => s.Namespace));
        var chart = Path.Combine(cluster.RepoRoot, "charts", "resilience-operator");
        // Two named shards and the default shard (on by default), each leading through its Lease.
        var install = await RunAsync("helm", ["install", "sharded", chart, "-n", system, "--kubeconfig", cluster.KubeconfigPath, "--take-ownership",
            "--set", "shards[0].name=a", "--set", "shards[1].name=b", "--set", "leaderElection.enabled=true",
            "--set", $"watchNamespaces={{{namespaces}}}", .. NoWebhook]);
        Assert.True(install.Code == 0, install.Output);
        try
        {
            // What the API server now holds: a Deployment per shard, each with its own selector and Lease.
            var deployments = (await cluster.Client.AppsV1.ListNamespacedDeploymentAsync(system, labelSelector: "app.kubernetes.io/instance=sharded"))
                .Items.ToDictionary(d => d.Metadata.Name);
            Assert.Equal([Fullname + "-a", Fullname + "-b", Fullname + "-default"], deployments.Keys.Order(StringComparer.Ordinal));
            static IList<string> Args(V1Deployment d) => Assert.Single(d.Spec.Template.Spec.Containers).Args;
            static string Arg(V1Deployment d, string option)
            {
                var args = Args(d);
                Assert.True(args.Count(x => x == option) == 1, $"{option} is not once among the arguments of {d.Metadata.Name}: {string.Join(' ', args)}");
                return args[args.IndexOf(option) + 1];
            }
            var selectors = new Dictionary<string, string> { ["a"] = $"{ShardLabel}=a", ["b"] = $"{ShardLabel}=b", ["default"] = $"!{ShardLabel}" };
            // The default shard keeps the release's Lease; a named shard gets its own.
            var leaseNames = new Dictionary<string, string>
            {
                ["a"] = Fullname + "-leader-a", ["b"] = Fullname + "-leader-b", ["default"] = Fullname + "-leader",
            };
            foreach (var shard in shards.Keys)
            {
                var d = deployments[$"{Fullname}-{shard}"];
                Assert.Equal(selectors[shard], Arg(d, "--shard-selector"));
                Assert.Equal(leaseNames[shard], Arg(d, "--lease-name"));
                Assert.Contains("--leader-elect", Args(d));
                Assert.Equal(namespaces, Arg(d, "--namespaces"));
                Assert.Equal(shard, d.Spec.Selector.MatchLabels["resilience.dev/operator-shard"]);
                Assert.All(d.Spec.Selector.MatchLabels, l => Assert.Equal(l.Value, d.Spec.Template.Metadata.Labels[l.Key]));
            }

            // The RBAC lets each shard's ServiceAccount read, create and renew its own Lease.
            foreach (var d in deployments.Values)
            {
                var account = $"system:serviceaccount:{system}:{d.Spec.Template.Spec.ServiceAccountName}";
                foreach (var verb in new[] { "get", "create", "update" })
                {
                    var canI = await RunAsync("kubectl", "--kubeconfig", cluster.KubeconfigPath, "auth", "can-i", verb,
                        $"leases.coordination.k8s.io/{Arg(d, "--lease-name")}", "-n", system, "--as", account);
                    Assert.True(canI.Stdout.Trim() == "yes", canI.Output);
                }
            }

            // Each shard runs the way its Deployment says: the container's arguments and environment as installed, as the
            // Deployment's ServiceAccount. Only what a pod gives the process is put in by hand: a TokenRequest token
            // instead of the in-cluster config, the metrics port (StartAsync's free loopback port instead of the
            // container port), and POD_NAMESPACE from its fieldRef.
            async Task<PublishedOperator> StartShardAsync(V1Deployment d)
            {
                var pod = d.Spec.Template.Spec;
                var container = Assert.Single(pod.Containers);
                var token = await RunAsync("kubectl", "--kubeconfig", cluster.KubeconfigPath, "create", "token", pod.ServiceAccountName,
                    "-n", system, "--duration", "1h");
                Assert.True(token.Code == 0, token.Output);
                var kubeconfig = await LimitedCredentials.TokenKubeconfigAsync(cluster, token.Stdout.Trim());
                var args = container.Args.ToList();
                var port = args.IndexOf("--port");
                Assert.True(port >= 0, string.Join(' ', args));
                args.RemoveRange(port, 2);
                var env = container.Env.ToDictionary(e => e.Name, e => e.Value ?? e.ValueFrom?.FieldRef?.FieldPath switch
                {
                    "metadata.namespace" => d.Metadata.NamespaceProperty,
                    var other => throw new InvalidOperationException($"{d.Metadata.Name}: {e.Name} from {other ?? "?"} is not known outside a pod"),
                });
                Assert.Equal(system, env["POD_NAMESPACE"]);
                return await PublishedOperator.StartAsync(cluster.RepoRoot, kubeconfig, FreePort(), env, [.. args]);
            }
            foreach (var s in shards.Values)
                foreach (var d in new[] { "primary", "standby" }) await s.WaitForReadyAsync(d, 2, deadline);
            await using var shardA = await StartShardAsync(deployments[Fullname + "-a"]);
            await using var shardB = await StartShardAsync(deployments[Fullname + "-b"]);
            await using var shardDefault = await StartShardAsync(deployments[Fullname + "-default"]);
            var operators = new Dictionary<string, PublishedOperator> { ["a"] = shardA, ["b"] = shardB, ["default"] = shardDefault };

            foreach (var (shard, s) in shards)
            {
                var policy = Scenario.Policy(s.Namespace);
                if (shard != "default") policy.Metadata.Labels = new Dictionary<string, string> { [ShardLabel] = shard };
                await s.ApplyPolicyAsync(policy);
            }
            foreach (var s in shards.Values) await s.WaitForConditionAsync("Ready", "True", timeout: deadline);

            // Each shard has the series of its own policy and never another shard's: it does not even cache them.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            async Task<int> PolicySeriesAsync(PublishedOperator op, string ns) =>
                PrometheusText.Count(await http.GetStringAsync(new Uri($"http://127.0.0.1:{op.Port}/metrics")),
                    "resilience_policy_ready", $"namespace=\"{ns}\"", "policy=\"checkout\"");
            async Task<bool> EachHasItsOwnAsync()
            {
                foreach (var (shard, s) in shards)
                    if (await PolicySeriesAsync(operators[shard], s.Namespace) != 1) return false;
                return true;
            }
            await ClusterFixture.WaitUntilAsync(EachHasItsOwnAsync, deadline, "each shard has the Ready series of its own policy");
            foreach (var (shard, op) in operators)
                foreach (var (other, s) in shards.Where(x => x.Key != shard))
                    Assert.True(await PolicySeriesAsync(op, s.Namespace) == 0, $"shard {shard} has series of shard {other}'s policy");

            // Each leads through its own Lease in the release namespace, held by that shard's process.
            var leases = (await cluster.Client.CoordinationV1.ListNamespacedLeaseAsync(system)).Items.ToDictionary(l => l.Metadata.Name);
            Assert.Equal(leaseNames.Values.Order(StringComparer.Ordinal), leases.Keys.Order(StringComparer.Ordinal));
            var holders = shards.Keys.ToDictionary(shard => shard, shard => leases[leaseNames[shard]].Spec.HolderIdentity);
            Assert.All(holders.Values, h => Assert.False(string.IsNullOrEmpty(h)));
            Assert.Equal(3, holders.Values.Distinct().Count());
            foreach (var (shard, op) in operators)
            {
                Assert.Contains(holders[shard], op.Output, StringComparison.Ordinal);
                // The chart's RBAC is enough for every shard: not one request was refused.
                Assert.DoesNotContain("forbidden", op.Output, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("\"Forbidden\"", op.Output, StringComparison.Ordinal);
            }
        }
        finally
        {
            await RunAsync("helm", "uninstall", "sharded", "-n", system, "--kubeconfig", cluster.KubeconfigPath);
        }
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task MissingPermission_ReadyFalseForbiddenAndWarningEvent_NoCrashNoHotLoop()
    {
        var s = await Scenario.CreateAsync(cluster, "forbidden");
        await s.WaitForReadyAsync("primary", 2);
        // The operator's rules without "patch services": it can see everything but cannot steer.
        await using var limited = await LimitedCredentials.CreateAsync(cluster, s.Namespace, "services", "patch");
        await using var op = await OperatorRunner.StartAsync(limited.Kubeconfig, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace));
        await s.WaitForConditionAsync("Ready", "False", "Forbidden");
        var ready = await s.ConditionAsync("Ready");
        Assert.Contains("services", ready!.Message, StringComparison.Ordinal);
        Assert.Equal("checkout", await s.SelectedAppAsync()); // nothing changed
        await ClusterFixture.WaitUntilAsync(async () => (await s.PolicyEventsAsync()).Any(e => e.Reason == "Forbidden"), TimeSpan.FromSeconds(10), "a Forbidden event");
        var forbidden = Assert.Single(await s.EventsOnceAsync(e => e.Reason == "Forbidden"), e => e.Reason == "Forbidden");
        Assert.Equal("Warning", forbidden.Type);
        // Retried with backoff, not in a hot loop (which would be thousands of attempts): tens of
        // attempts at most in the first seconds (pods settling also wake the reconciler), and
        // the retries thin out as the backoff grows.
        await Task.Delay(TimeSpan.FromSeconds(6));
        var first = (await s.PolicyEventsAsync()).Single(e => e.Reason == "Forbidden").Count ?? 1;
        Assert.InRange(first, 1, 40);
        await Task.Delay(TimeSpan.FromSeconds(6));
        var second = ((await s.PolicyEventsAsync()).Single(e => e.Reason == "Forbidden").Count ?? 1) - first;
        Assert.True(second < 10, $"{second} more attempts in the next 6 s after {first}: the backoff does not grow");
    }

    private async Task<string> SnapshotAsync(string ns)
    {
        var sb = new StringBuilder();
        foreach (var d in (await cluster.Client.AppsV1.ListNamespacedDeploymentAsync(ns)).Items.OrderBy(d => d.Metadata.Name))
            sb.Append($"deployment {d.Metadata.Name} replicas={d.Spec.Replicas} gates={d.Spec.Template.Spec.ReadinessGates?.Count ?? 0}\n");
        foreach (var svc in (await cluster.Client.CoreV1.ListNamespacedServiceAsync(ns)).Items.OrderBy(x => x.Metadata.Name))
            sb.Append($"service {svc.Metadata.Name} selector={string.Join(",", svc.Spec.Selector.Select(kv => kv.Key + "=" + kv.Value))}\n");
        return sb.ToString();
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ResilienceOperator.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    internal static async Task<(int Code, string Stdout, string Output)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = FindRoot() };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        var o = await stdout;
        return (p.ExitCode, o, $"{file} {string.Join(' ', args)} exited {p.ExitCode}\n{o}{await stderr}");
    }
}

/// <summary>
/// The operator as the image runs it: published with the Dockerfile's command
/// (<see cref="ImagePublish"/>, for this machine's architecture) and started as a separate process.
/// </summary>
internal sealed class PublishedOperator : IAsyncDisposable
{
    private static readonly SemaphoreSlim PublishLock = new(1, 1);
    private static string? _published;
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private PublishedOperator(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The loopback port of /metrics, /healthz and /readyz.</summary>
    public int Port { get; }

    public string Output { get { lock (_output) return _output.ToString(); } }

    public static Task<PublishedOperator> StartAsync(string repoRoot, string kubeconfig, int port, params string[] args) =>
        StartAsync(repoRoot, kubeconfig, port, new Dictionary<string, string>(), args);

    /// <summary>Starts it with <paramref name="environment"/> added to this process's environment.</summary>
    public static async Task<PublishedOperator> StartAsync(string repoRoot, string kubeconfig, int port, IReadOnlyDictionary<string, string> environment,
        params string[] args)
    {
        var dll = await PublishAsync(repoRoot);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { dll, "--kubeconfig", kubeconfig, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind-address", "127.0.0.1" }.Concat(args))
            psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        var op = new PublishedOperator(Process.Start(psi)!, port);
        op._process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (op._output) op._output.AppendLine(e.Data); };
        op._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (op._output) op._output.AppendLine(e.Data); };
        op._process.BeginOutputReadLine();
        op._process.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (op._process.HasExited) throw new InvalidOperationException($"the published operator exited with {op._process.ExitCode}:\n{op.Output}");
            try
            {
                if ((await http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz"))).IsSuccessStatusCode) return op;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the published operator was not ready within 60 s:\n{op.Output}");
            await Task.Delay(200);
        }
    }

    private static async Task<string> PublishAsync(string repoRoot)
    {
        await PublishLock.WaitAsync();
        try
        {
            if (_published is not null) return _published;
            var output = Path.Combine(repoRoot, ".local", $"publish-{Environment.ProcessId}");
            var r = await InstallTests.RunAsync("dotnet", [.. ImagePublish.Arguments(repoRoot, output)]);
            if (r.Code != 0) throw new InvalidOperationException("dotnet publish failed:\n" + r.Output);
            return _published = Path.Combine(output, "ResilienceOperator.dll");
        }
        finally { PublishLock.Release(); }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM, as the kubelet would send, then wait for the graceful shutdown.
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(25));
            try { await _process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
    }
}
