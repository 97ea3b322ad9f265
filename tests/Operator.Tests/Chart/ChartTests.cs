using System.Diagnostics;
using System.Text;
using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace ResilienceOperator.Tests.Chart;

/// <summary>
/// The Helm chart (charts/resilience-operator) and the plain RBAC manifests (config/rbac), checked
/// with the real <c>helm</c> binary from PATH (hack/test.sh puts hack/tools.sh's folder there).
/// </summary>
public sealed class ChartTests
{
    private const string Release = "resilience-operator";
    private const string Namespace = "resilience-system";
    private const string KeepAnnotation = "helm.sh/resource-policy";

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ResilienceOperator.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    private static string ChartDir => Path.Combine(RepoRoot(), "charts", "resilience-operator");

    // ---- helm ------------------------------------------------------------------------------

    private static string HelmPath()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, OperatingSystem.IsWindows() ? "helm.exe" : "helm");
            if (File.Exists(candidate)) return candidate;
        }
        Assert.Fail("helm was not found on PATH. Install it with `bash hack/tools.sh` and put `$(bash hack/tools.sh --bin-dir)` " +
            "on PATH (hack/test.sh does both). PATH=" + path);
        return "";
    }

    private sealed record HelmResult(int ExitCode, string Stdout, string Stderr)
    {
        public string Output => Stdout + Stderr;
    }

    private static async Task<HelmResult> HelmAsync(params string[] args)
    {
        var psi = new ProcessStartInfo(HelmPath())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot(),
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start helm");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"helm {string.Join(' ', args)} did not finish within 2 minutes");
        }
        return new HelmResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary><c>helm template</c> of the chart; fails the test when helm does.</summary>
    private static async Task<List<YamlMappingNode>> TemplateAsync(params string[] extra)
    {
        var result = await HelmAsync(["template", Release, ChartDir, "--namespace", Namespace, .. extra]);
        Assert.True(result.ExitCode == 0, $"helm template failed ({result.ExitCode}):\n{result.Output}");
        return LoadAll(result.Stdout);
    }

    // ---- YAML ------------------------------------------------------------------------------

    private static List<YamlMappingNode> LoadAll(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>()];
    }

    private static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (var p in path)
            node = int.TryParse(p, out var i) ? ((YamlSequenceNode)node)[i] : ((YamlMappingNode)node)[p];
        return node;
    }

    private static YamlNode? Find(YamlNode node, params string[] path)
    {
        foreach (var p in path)
        {
            if (node is YamlMappingNode map && map.Children.TryGetValue(p, out var child)) node = child;
            else return null;
        }
        return node;
    }

    private static string Text(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value ?? "";

    private static List<string> Strings(YamlNode node, params string[] path) =>
        [.. ((YamlSequenceNode)At(node, path)).Children.Select(n => ((YamlScalarNode)n).Value ?? "")];

    private static List<YamlMappingNode> OfKind(IEnumerable<YamlMappingNode> docs, string kind) =>
        [.. docs.Where(d => Find(d, "kind") is YamlScalarNode { Value: var k } && k == kind)];

    private static YamlMappingNode Single(IEnumerable<YamlMappingNode> docs, string kind)
    {
        var found = OfKind(docs, kind);
        Assert.True(found.Count == 1, $"expected one {kind}, found {found.Count}");
        return found[0];
    }

    /// <summary>
    /// A node as text with mapping keys sorted, so two documents compare by content. Plain and
    /// quoted scalars differ (True is a boolean, "True" a string).
    /// </summary>
    private static string Canonical(YamlNode node) => node switch
    {
        YamlScalarNode s => (s.Style is YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any ? "" : "!str ") + JsonSerializer.Serialize(s.Value),
        YamlSequenceNode seq => "[" + string.Join(",", seq.Children.Select(Canonical)) + "]",
        YamlMappingNode map => "{" + string.Join(",", map.Children
            .Select(kv => (Key: Canonical(kv.Key), Value: Canonical(kv.Value)))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => kv.Key + ":" + kv.Value)) + "}",
        _ => throw new InvalidOperationException("unexpected YAML node " + node.NodeType),
    };

    /// <summary>A Role's or ClusterRole's rules, one line per rule: apiGroups | resources | verbs.</summary>
    private static List<string> Rules(YamlNode role) =>
        [.. ((YamlSequenceNode)At(role, "rules")).Children.Select(r =>
            string.Join(" | ", string.Join(",", Strings(r, "apiGroups")), string.Join(",", Strings(r, "resources")), string.Join(",", Strings(r, "verbs"))))];

    /// <summary>Every CRD in config/crd, parsed.</summary>
    private static List<YamlMappingNode> GeneratedCrds() =>
        [.. Directory.GetFiles(Path.Combine(RepoRoot(), "config", "crd"), "*.yaml").Order(StringComparer.Ordinal).SelectMany(f => LoadAll(File.ReadAllText(f)))];

    /// <summary>The one object of <paramref name="kind"/> named <paramref name="name"/>.</summary>
    private static YamlMappingNode Named(IEnumerable<YamlMappingNode> docs, string kind, string name)
    {
        var found = OfKind(docs, kind).Where(d => Text(d, "metadata", "name") == name).ToList();
        Assert.True(found.Count == 1, $"expected one {kind} {name}, found {found.Count}");
        return found[0];
    }

    private static List<string> Names(IEnumerable<YamlMappingNode> docs, string kind) =>
        [.. OfKind(docs, kind).Select(d => Text(d, "metadata", "name")).Order(StringComparer.Ordinal)];

    private static YamlMappingNode Container(YamlMappingNode deployment) =>
        (YamlMappingNode)At(deployment, "spec", "template", "spec", "containers", "0");

    // ---- the tests -------------------------------------------------------------------------

    [Fact]
    public void CrdCopy_InChart_IsByteForByteTheGeneratedCrd()
    {
        var generated = Directory.GetFiles(Path.Combine(RepoRoot(), "config", "crd"), "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var copies = Directory.GetFiles(Path.Combine(ChartDir, "files", "crds"), "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(generated);
        Assert.Equal(generated, copies);
        foreach (var file in generated)
        {
            var source = File.ReadAllBytes(Path.Combine(RepoRoot(), "config", "crd", file!));
            var copy = File.ReadAllBytes(Path.Combine(ChartDir, "files", "crds", file!));
            Assert.True(source.AsSpan().SequenceEqual(copy),
                $"charts/resilience-operator/files/crds/{file} differs from config/crd/{file}: run cp config/crd/{file} charts/resilience-operator/files/crds/");
        }
    }

    [Fact]
    public async Task Lint_Strict_Passes()
    {
        var result = await HelmAsync("lint", "--strict", ChartDir);
        Assert.True(result.ExitCode == 0, $"helm lint --strict failed ({result.ExitCode}):\n{result.Output}");
        var withOptions = await HelmAsync("lint", "--strict", ChartDir, "--set", "replicaCount=2", "--set", "grafanaDashboard.enabled=true",
            "--set", "crds.keep=false", "--set", "watchNamespaces={team-a,team-b}");
        Assert.True(withOptions.ExitCode == 0, $"helm lint --strict with options failed ({withOptions.ExitCode}):\n{withOptions.Output}");
    }

    [Fact]
    public async Task Template_Defaults_RestrictedDeploymentKeptCrdAndNoMonitoring()
    {
        // The Prometheus Operator's API is offered, so its objects are absent because of the values alone.
        var docs = await TemplateAsync("--api-versions", "monitoring.coreos.com/v1");

        var deployment = Single(docs, "Deployment");
        Assert.Equal("1", Text(deployment, "spec", "replicas"));
        var pod = At(deployment, "spec", "template", "spec");
        Assert.Equal("30", Text(pod, "terminationGracePeriodSeconds"));
        Assert.Equal(Release, Text(pod, "serviceAccountName"));
        Assert.Equal("true", Text(pod, "securityContext", "runAsNonRoot"));
        Assert.Equal("10001", Text(pod, "securityContext", "runAsUser"));
        Assert.Equal("10001", Text(pod, "securityContext", "runAsGroup"));
        Assert.Equal("10001", Text(pod, "securityContext", "fsGroup"));
        Assert.Equal("RuntimeDefault", Text(pod, "securityContext", "seccompProfile", "type"));

        var container = Container(deployment);
        Assert.Equal("ghcr.io/resilience-operator/resilience-operator:0.1.0", Text(container, "image"));
        Assert.Equal("false", Text(container, "securityContext", "allowPrivilegeEscalation"));
        Assert.Equal("true", Text(container, "securityContext", "readOnlyRootFilesystem"));
        Assert.Equal(["ALL"], Strings(container, "securityContext", "capabilities", "drop"));
        Assert.Equal("/tmp", Text(container, "volumeMounts", "0", "mountPath"));
        Assert.NotNull(Find(At(pod, "volumes", "0"), "emptyDir"));
        Assert.Equal("50m", Text(container, "resources", "requests", "cpu"));
        Assert.Equal("256Mi", Text(container, "resources", "requests", "memory"));
        Assert.Equal("500m", Text(container, "resources", "limits", "cpu"));
        Assert.Equal("512Mi", Text(container, "resources", "limits", "memory"));
        Assert.Equal("/healthz", Text(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal("8080", Text(container, "livenessProbe", "httpGet", "port"));
        Assert.Equal("/readyz", Text(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("8080", Text(container, "readinessProbe", "httpGet", "port"));
        Assert.Equal("POD_NAMESPACE", Text(container, "env", "0", "name"));
        Assert.Equal("metadata.namespace", Text(container, "env", "0", "valueFrom", "fieldRef", "fieldPath"));

        var args = Strings(container, "args");
        Assert.Equal(["--port", "8080", "--log-format", "json", "--log-level", "Information",
            "--observer-suspect-threshold", "0.55", "--observer-suspect-min-targets", "3", "--lease-name", Release + "-leader",
            "--webhook-port", "9443", "--webhook-service", Release + "-webhook", "--webhook-configuration", Release, "--webhook-secret", Release + "-webhook-tls"], args);

        var service = Named(docs, "Service", Release + "-metrics");
        Assert.Equal("http-metrics", Text(service, "spec", "ports", "0", "name"));
        Assert.Equal("8080", Text(service, "spec", "ports", "0", "port"));

        // The CRDs: every generated one plus the keep annotation, nothing else.
        var crds = OfKind(docs, "CustomResourceDefinition");
        var generated = GeneratedCrds();
        Assert.Equal(generated.Count, crds.Count);
        foreach (var crd in crds)
        {
            Assert.Equal("keep", Text(crd, "metadata", "annotations", KeepAnnotation));
            var annotations = (YamlMappingNode)At(crd, "metadata", "annotations");
            annotations.Children.Remove(new YamlScalarNode(KeepAnnotation));
            if (annotations.Children.Count == 0) ((YamlMappingNode)At(crd, "metadata")).Children.Remove(new YamlScalarNode("annotations"));
        }
        Assert.Equal(generated.Select(Canonical).Order(StringComparer.Ordinal), crds.Select(Canonical).Order(StringComparer.Ordinal));

        Assert.Empty(OfKind(docs, "ServiceMonitor"));
        Assert.Empty(OfKind(docs, "PrometheusRule"));
        Assert.Empty(OfKind(docs, "PodDisruptionBudget"));
        Assert.Empty(OfKind(docs, "ConfigMap"));
        Assert.Single(OfKind(docs, "ServiceAccount"));
        // The operator's, and the webhook certificate's (operator-managed TLS is the default).
        Assert.Equal([Release + "-manager", Release + "-webhook"], Names(docs, "ClusterRole"));
        Assert.Equal([Release + "-manager", Release + "-webhook"], Names(docs, "ClusterRoleBinding"));
        Assert.Equal([Release + "-leader-election", Release + "-webhook"], Names(docs, "Role"));
        Assert.Equal([Release + "-leader-election", Release + "-webhook"], Names(docs, "RoleBinding"));
    }

    [Fact]
    public async Task Template_CrdsKeepFalse_RendersTheGeneratedCrdUnchanged()
    {
        var docs = await TemplateAsync("--set", "crds.keep=false");
        var crds = OfKind(docs, "CustomResourceDefinition");
        // No keep annotation; the generated ones (Argo CD's Prune=false) come through as they are.
        Assert.All(crds, crd => Assert.Null(Find(crd, "metadata", "annotations", KeepAnnotation)));
        Assert.Equal(GeneratedCrds().Select(Canonical).Order(StringComparer.Ordinal), crds.Select(Canonical).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Template_NonDefaults_LeaderElectionPdbMonitoringAndNoCrd()
    {
        var docs = await TemplateAsync("--set", "replicaCount=2", "--set", "logFormat=text",
            "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true",
            "--api-versions", "monitoring.coreos.com/v1", "--set", "crds.install=false",
            "--set", "watchNamespaces={team-a,team-b}", "--set", "image.tag=1.2.3");

        var deployment = Single(docs, "Deployment");
        Assert.Equal("2", Text(deployment, "spec", "replicas"));
        var container = Container(deployment);
        Assert.Equal("ghcr.io/resilience-operator/resilience-operator:1.2.3", Text(container, "image"));
        var args = Strings(container, "args");
        Assert.Contains("--leader-elect", args);
        Assert.Equal("text", args[args.IndexOf("--log-format") + 1]);
        Assert.Equal("team-a,team-b", args[args.IndexOf("--namespaces") + 1]);

        var pdb = Single(docs, "PodDisruptionBudget");
        Assert.Equal("policy/v1", Text(pdb, "apiVersion"));
        Assert.Equal("1", Text(pdb, "spec", "minAvailable"));
        Assert.Equal(Canonical(At(deployment, "spec", "selector", "matchLabels")), Canonical(At(pdb, "spec", "selector", "matchLabels")));

        var monitor = Single(docs, "ServiceMonitor");
        Assert.Equal("http-metrics", Text(monitor, "spec", "endpoints", "0", "port"));
        Assert.Equal("30s", Text(monitor, "spec", "endpoints", "0", "interval"));
        var service = Named(docs, "Service", Release + "-metrics");
        var serviceLabels = (YamlMappingNode)At(service, "metadata", "labels");
        foreach (var (key, value) in ((YamlMappingNode)At(monitor, "spec", "selector", "matchLabels")).Children)
            Assert.Equal(((YamlScalarNode)value).Value, ((YamlScalarNode)serviceLabels[key]).Value);

        // The PrometheusRule carries the groups of the plain rule file, with ResilienceOperatorDown
        // narrowed to the job the ServiceMonitor gives and the release namespace.
        var rule = Single(docs, "PrometheusRule");
        var ruleText = (await File.ReadAllTextAsync(Path.Combine(ChartDir, "files", "alerts", "resilience-operator.rules.yaml")))
            .Replace("up{job=\"resilience-operator\"}", $"up{{job=\"resilience-operator\", namespace=\"{Namespace}\"}}", StringComparison.Ordinal);
        Assert.Equal(Canonical(At(LoadAll(ruleText).Single(), "groups")), Canonical(At(rule, "spec", "groups")));
        var alerts = ((YamlSequenceNode)At(rule, "spec", "groups", "0", "rules")).Children.Select(r => Text(r, "alert")).ToList();
        Assert.Equal(["ResiliencePolicyNotReady", "ResilienceCircuitOpen", "ResilienceTargetUnhealthy", "ResilienceOperatorDown", "ResilienceFrequentFailovers",
            "ResilienceRpoBreached", "ResilienceBackupsFailing", "ResilienceBackupNotVerified", "ResilienceDrillFailed", "ResilienceNotificationsFailing", "ResilienceReconcileErrors",
            "ResilienceObserverSuspect"], alerts);

        Assert.Empty(OfKind(docs, "CustomResourceDefinition"));
    }

    private static string OperatorDownExpr(YamlMappingNode prometheusRule) =>
        Text(((YamlSequenceNode)At(prometheusRule, "spec", "groups", "0", "rules")).Children.Single(r => Text(r, "alert") == "ResilienceOperatorDown"), "expr");

    [Fact]
    public async Task Template_Monitoring_LabelsNamespaceJobLabelScrapeTimeoutAndRunbookUrls()
    {
        var docs = await TemplateAsync("--api-versions", "monitoring.coreos.com/v1", "--set", "fullnameOverride=ops",
            "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true",
            "--set", "metrics.serviceMonitor.labels.release=kube-prometheus-stack", "--set", "metrics.prometheusRule.labels.release=kube-prometheus-stack",
            "--set", "metrics.serviceMonitor.namespace=monitoring", "--set", "metrics.prometheusRule.namespace=monitoring",
            "--set", "metrics.serviceMonitor.interval=15s", "--set", "metrics.serviceMonitor.scrapeTimeout=10s",
            "--set", "metrics.prometheusRule.runbookBaseUrl=https://wiki.example.com/resilience/runbook/");

        var monitor = Single(docs, "ServiceMonitor");
        Assert.Equal("monitoring", Text(monitor, "metadata", "namespace"));
        Assert.Equal("kube-prometheus-stack", Text(monitor, "metadata", "labels", "release"));
        Assert.Equal(Release, Text(monitor, "metadata", "labels", "app.kubernetes.io/instance")); // the chart's labels stay
        Assert.Equal([Namespace], Strings(monitor, "spec", "namespaceSelector", "matchNames"));
        Assert.Equal("15s", Text(monitor, "spec", "endpoints", "0", "interval"));
        Assert.Equal("10s", Text(monitor, "spec", "endpoints", "0", "scrapeTimeout"));
        // The job label comes from a label the Service carries, not from its (overridden) name.
        var jobLabel = Text(monitor, "spec", "jobLabel");
        Assert.Equal("app.kubernetes.io/name", jobLabel);
        var service = Named(docs, "Service", "ops-metrics");
        Assert.Equal("resilience-operator", Text(service, "metadata", "labels", jobLabel));

        var rule = Single(docs, "PrometheusRule");
        Assert.Equal("monitoring", Text(rule, "metadata", "namespace"));
        Assert.Equal("kube-prometheus-stack", Text(rule, "metadata", "labels", "release"));
        var rules = ((YamlSequenceNode)At(rule, "spec", "groups", "0", "rules")).Children;
        Assert.Equal($"absent(up{{job=\"resilience-operator\", namespace=\"{Namespace}\"}} == 1)", OperatorDownExpr(rule));
        foreach (var r in rules)
            Assert.Equal("https://wiki.example.com/resilience/runbook#" + Text(r, "alert").ToLowerInvariant(), Text(r, "annotations", "runbook_url"));

        // Without a jobLabel the job is the Service's name; metrics.prometheusRule.job wins over both.
        var byName = Single(await TemplateAsync("--api-versions", "monitoring.coreos.com/v1", "--set", "fullnameOverride=ops",
            "--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.serviceMonitor.jobLabel="), "PrometheusRule");
        Assert.Equal($"absent(up{{job=\"ops-metrics\", namespace=\"{Namespace}\"}} == 1)", OperatorDownExpr(byName));
        var explicitJob = Single(await TemplateAsync("--api-versions", "monitoring.coreos.com/v1",
            "--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.prometheusRule.job=custom"), "PrometheusRule");
        Assert.Equal($"absent(up{{job=\"custom\", namespace=\"{Namespace}\"}} == 1)", OperatorDownExpr(explicitJob));
        var unknown = await HelmAsync("template", Release, ChartDir, "--namespace", Namespace, "--api-versions", "monitoring.coreos.com/v1",
            "--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.serviceMonitor.jobLabel=team");
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("jobLabel", unknown.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrometheusRule_FullnameOverride_OperatorDownQuietWhileTheJobIsUpAndFiresWhenDown()
    {
        // The rendered rule, unit-tested with promtool on the series the chart's ServiceMonitor produces.
        var docs = await TemplateAsync("--api-versions", "monitoring.coreos.com/v1", "--set", "fullnameOverride=platform-resilience",
            "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true");
        var dir = Path.Combine(Path.GetTempPath(), $"rules-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            using (var writer = new StreamWriter(Path.Combine(dir, "rules.yaml")))
                new YamlStream(new YamlDocument(At(Single(docs, "PrometheusRule"), "spec"))).Save(writer, assignAnchors: false);
            await File.WriteAllTextAsync(Path.Combine(dir, "test.yaml"), $$"""
                rule_files: [rules.yaml]
                evaluation_interval: 1m
                tests:
                  - interval: 1m
                    input_series:
                      - series: 'up{job="resilience-operator", namespace="{{Namespace}}", service="platform-resilience-metrics", instance="10.0.0.1:8080"}'
                        values: '1x10 0x10'
                      - series: 'up{job="resilience-operator", namespace="other-team", instance="10.0.0.9:8080"}'
                        values: '1x20'
                    alert_rule_test:
                      - eval_time: 9m
                        alertname: ResilienceOperatorDown
                        exp_alerts: []
                      - eval_time: 18m
                        alertname: ResilienceOperatorDown
                        exp_alerts:
                          - exp_labels: {severity: critical}
                            exp_annotations:
                              runbook_url: "https://github.com/resilience-operator/resilience-operator/blob/main/docs/runbook.md#resilienceoperatordown"
                              summary: "ResilienceOperator is down"
                              description: "No ResilienceOperator instance has been scraped successfully for 5 minutes: policies are not enforced and no failover will happen."
                """);
            var (code, output) = await Tools.Tool.RunAsync("promtool", dir, "test", "rules", "test.yaml");
            Assert.True(code == 0, output);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task Template_LeaderElectionEnabled_SingleReplicaElectsWithoutPdb()
    {
        var docs = await TemplateAsync("--set", "leaderElection.enabled=true");
        Assert.Contains("--leader-elect", Strings(Container(Single(docs, "Deployment")), "args"));
        Assert.Empty(OfKind(docs, "PodDisruptionBudget"));
    }

    [Fact]
    public async Task Template_MonitoringEnabledWithoutPrometheusOperator_RendersNeither()
    {
        var docs = await TemplateAsync("--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true");
        Assert.Empty(OfKind(docs, "ServiceMonitor"));
        Assert.Empty(OfKind(docs, "PrometheusRule"));
    }

    [Fact]
    public async Task Template_GrafanaDashboard_ConfigMapHoldsTheDashboardFile()
    {
        var docs = await TemplateAsync("--set", "grafanaDashboard.enabled=true");
        var configMap = Single(docs, "ConfigMap");
        Assert.Equal("1", Text(configMap, "metadata", "labels", "grafana_dashboard"));
        var file = await File.ReadAllTextAsync(Path.Combine(ChartDir, "files", "dashboards", "resilience-operator.json"));
        Assert.Equal(file.TrimEnd('\n'), Text(configMap, "data", "resilience-operator.json"));

        using var dashboard = JsonDocument.Parse(file);
        var expressions = new StringBuilder();
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
            if (panel.TryGetProperty("targets", out var targets))
                foreach (var target in targets.EnumerateArray()) expressions.AppendLine(target.GetProperty("expr").GetString());
        var all = expressions.ToString();
        foreach (var metric in new[] { "resilience_policy_ready", "resilience_target_healthy", "resilience_failovers_total",
                     "resilience_failover_seconds_bucket", "controller_runtime_reconcile_total",
                     "controller_runtime_reconcile_time_seconds_bucket", "workqueue_depth",
                     "resilience_rpo_seconds", "resilience_rpo_objective_seconds", "resilience_backups_total",
                     "resilience_backup_last_success_timestamp_seconds", "resilience_drills_total", "resilience_degraded",
                     "resilience_shed_deployments", "resilience_notifications_total", "resilience_observer_suspect",
                     "controller_runtime_reconcile_errors_total" })
            Assert.Contains(metric, all, StringComparison.Ordinal);

        // Panel ids are unique (Grafana keys panels by id) and no two panels overlap.
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().ToList();
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        var cells = new HashSet<(int, int)>();
        foreach (var panel in panels)
        {
            var grid = panel.GetProperty("gridPos");
            for (var x = grid.GetProperty("x").GetInt32(); x < grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32(); x++)
                for (var y = grid.GetProperty("y").GetInt32(); y < grid.GetProperty("y").GetInt32() + grid.GetProperty("h").GetInt32(); y++)
                    Assert.True(cells.Add((x, y)), $"panel {panel.GetProperty("title").GetString()} overlaps another at {x},{y}");
            Assert.True(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32() <= 24, $"panel {panel.GetProperty("title").GetString()} is wider than the dashboard");
        }
    }

    [Fact]
    public async Task DocumentedMetrics_EveryResilienceMetricIsOnTheDashboardOrInAnAlert()
    {
        var page = await File.ReadAllTextAsync(Path.Combine(RepoRoot(), "docs", "monitoring.md"));
        var start = page.IndexOf("\n## Metrics\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/monitoring.md has no \"## Metrics\" section");
        var end = page.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var listed = System.Text.RegularExpressions.Regex.Matches(page[start..(end < 0 ? page.Length : end)], "`(resilience_[a-z_]+)")
            .Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.True(listed.Count >= 10, "found only " + string.Join(", ", listed));

        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(ChartDir, "files", "dashboards", "resilience-operator.json")));
        var expressions = new StringBuilder(await File.ReadAllTextAsync(Path.Combine(ChartDir, "files", "alerts", "resilience-operator.rules.yaml")));
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
            if (panel.TryGetProperty("targets", out var targets))
                foreach (var target in targets.EnumerateArray()) expressions.AppendLine(target.GetProperty("expr").GetString());
        // A metric name followed by a character that cannot continue it (histograms count through _bucket).
        var used = expressions.ToString();
        var missing = listed.Where(m => !System.Text.RegularExpressions.Regex.IsMatch(used, System.Text.RegularExpressions.Regex.Escape(m) + "(_bucket|_count|_sum)?(?![a-z_])")).ToList();
        Assert.True(missing.Count == 0, "metrics in docs/monitoring.md's Metrics section on neither the dashboard nor an alert: " + string.Join(", ", missing));
    }

    [Fact]
    public async Task Template_ObserverSuspect_PassedAsArgsAndOutOfRangeRejected()
    {
        var docs = await TemplateAsync("--set", "observerSuspect.threshold=1", "--set", "observerSuspect.minTargets=10");
        var args = Strings(Container(Single(docs, "Deployment")), "args");
        Assert.Equal("1", args[args.IndexOf("--observer-suspect-threshold") + 1]);
        Assert.Equal("10", args[args.IndexOf("--observer-suspect-min-targets") + 1]);

        var tooHigh = await HelmAsync("template", Release, ChartDir, "--namespace", Namespace, "--set", "observerSuspect.threshold=1.5");
        Assert.NotEqual(0, tooHigh.ExitCode);
        Assert.Contains("threshold", tooHigh.Output, StringComparison.Ordinal);
        var typo = await HelmAsync("template", Release, ChartDir, "--namespace", Namespace, "--set", "observerSuspect.minTarget=2");
        Assert.NotEqual(0, typo.ExitCode);
        Assert.Contains("minTarget", typo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Template_ValuesTypo_FailsNamingTheKey()
    {
        var result = await HelmAsync("template", Release, ChartDir, "--namespace", Namespace, "--set", "replicaCont=2");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("replicaCont", result.Output, StringComparison.Ordinal);

        var nested = await HelmAsync("template", Release, ChartDir, "--namespace", Namespace, "--set", "metrics.serviceMonitor.enabeld=true");
        Assert.NotEqual(0, nested.ExitCode);
        Assert.Contains("enabeld", nested.Output, StringComparison.Ordinal);

        var badEnum = await HelmAsync("template", Release, ChartDir, "--namespace", Namespace, "--set", "logFormat=xml");
        Assert.NotEqual(0, badEnum.ExitCode);
        Assert.Contains("logFormat", badEnum.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Template_PodSettings_ExtraArgsEnvDigestSecurityContextsProbesVolumesSpread()
    {
        const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        var docs = await TemplateAsync("--set", "image.digest=" + Digest, "--set", "image.tag=9.9.9",
            "--set-json", "extraArgs=[\"--workers\",\"8\",\"--bind-address=0.0.0.0\"]",
            "--set-json", "extraEnv=[{\"name\":\"DOTNET_gcServer\",\"value\":\"0\"},{\"name\":\"TOKEN\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\"}}}]",
            "--set", "podSecurityContext.runAsUser=null", "--set", "podSecurityContext.runAsGroup=null", "--set", "podSecurityContext.fsGroup=null",
            "--set", "securityContext.runAsUser=1000680000",
            "--set", "priorityClassName=system-cluster-critical",
            "--set", "livenessProbe.periodSeconds=20", "--set", "livenessProbe.timeoutSeconds=5", "--set", "readinessProbe.failureThreshold=6",
            "--set-json", "extraVolumes=[{\"name\":\"ca\",\"configMap\":{\"name\":\"webhook-ca\"}}]",
            "--set-json", "extraVolumeMounts=[{\"name\":\"ca\",\"mountPath\":\"/etc/ca\",\"readOnly\":true}]",
            "--set-json", "topologySpreadConstraints=[{\"maxSkew\":1,\"topologyKey\":\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"ScheduleAnyway\"}]",
            "--set", "nodeSelector.kubernetes\\.io/os=linux", "--set", "podAnnotations.a=b", "--set", "podLabels.team=platform");

        var deployment = Single(docs, "Deployment");
        var pod = At(deployment, "spec", "template", "spec");
        var container = Container(deployment);
        Assert.Equal("ghcr.io/resilience-operator/resilience-operator@" + Digest, Text(container, "image"));

        var args = Strings(container, "args");
        Assert.Equal(["--workers", "8", "--bind-address=0.0.0.0"], args[^3..]);
        Assert.Equal("--port", args[0]); // the chart's own arguments first

        Assert.Equal(["POD_NAMESPACE", "DOTNET_gcServer", "TOKEN"], ((YamlSequenceNode)At(container, "env")).Children.Select(e => Text(e, "name")));
        Assert.Equal("k", Text(container, "env", "2", "valueFrom", "secretKeyRef", "key"));

        // OpenShift restricted-v2: the UID comes from the namespace range, so the pod does not set one.
        var podSecurity = (YamlMappingNode)At(pod, "securityContext");
        Assert.Null(Find(podSecurity, "runAsUser"));
        Assert.Null(Find(podSecurity, "runAsGroup"));
        Assert.Null(Find(podSecurity, "fsGroup"));
        Assert.Equal("true", Text(podSecurity, "runAsNonRoot"));
        Assert.Equal("RuntimeDefault", Text(podSecurity, "seccompProfile", "type"));
        Assert.Equal("1000680000", Text(container, "securityContext", "runAsUser"));
        Assert.Equal("true", Text(container, "securityContext", "readOnlyRootFilesystem"));

        Assert.Equal("system-cluster-critical", Text(pod, "priorityClassName"));
        Assert.Equal("/healthz", Text(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal("20", Text(container, "livenessProbe", "periodSeconds"));
        Assert.Equal("5", Text(container, "livenessProbe", "timeoutSeconds"));
        Assert.Equal("3", Text(container, "livenessProbe", "failureThreshold"));
        Assert.Equal("/readyz", Text(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("6", Text(container, "readinessProbe", "failureThreshold"));

        Assert.Equal(["tmp", "ca"], ((YamlSequenceNode)At(pod, "volumes")).Children.Select(v => Text(v, "name")));
        Assert.Equal("webhook-ca", Text(pod, "volumes", "1", "configMap", "name"));
        Assert.Equal("/etc/ca", Text(container, "volumeMounts", "1", "mountPath"));

        var spread = At(pod, "topologySpreadConstraints", "0");
        Assert.Equal("topology.kubernetes.io/zone", Text(spread, "topologyKey"));
        // No labelSelector given: the operator's own selector labels.
        Assert.Equal(Canonical(At(deployment, "spec", "selector", "matchLabels")), Canonical(At(spread, "labelSelector", "matchLabels")));

        Assert.Equal("linux", Text(pod, "nodeSelector", "kubernetes.io/os"));
        Assert.Equal("b", Text(deployment, "spec", "template", "metadata", "annotations", "a"));
        Assert.Equal("platform", Text(deployment, "spec", "template", "metadata", "labels", "team"));
    }

    [Theory]
    [InlineData("image.digest=latest", "digest")]
    [InlineData("extraArgs.foo=1", "extraArgs")]
    [InlineData("livenessProbe.path=/x", "path")]
    [InlineData("podSecurityContext.runAsUsr=1", "runAsUsr")]
    [InlineData("securityContext.privilegd=true", "privilegd")]
    [InlineData("rbac.clusterwide=false", "clusterwide")]
    [InlineData("metrics.serviceMonitor.scrapeTimeout=10", "scrapeTimeout")]
    [InlineData("test.image.tga=1", "tga")]
    public async Task Template_NewSettings_StrictSchemaRejectsTypos(string set, string named)
    {
        var result = await HelmAsync("template", Release, ChartDir, "--namespace", Namespace, "--set", set);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(named, result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Template_ExtraEnvTypo_Rejected()
    {
        var result = await HelmAsync("template", Release, ChartDir, "--namespace", Namespace, "--set-json", "extraEnv=[{\"name\":\"A\",\"vaule\":\"b\"}]");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("vaule", result.Output, StringComparison.Ordinal);
    }

    private static string Arg(YamlMappingNode deployment, string option)
    {
        var args = Strings(Container(deployment), "args");
        Assert.True(args.IndexOf(option) >= 0, $"{option} not among the arguments of {Text(deployment, "metadata", "name")}");
        return args[args.IndexOf(option) + 1];
    }

    [Fact]
    public async Task Template_TwoShards_ADeploymentEachWithItsOwnLeaseAndSelector_PlusTheDefault()
    {
        var docs = await TemplateAsync("--set", "replicaCount=2", "--set", "shards[0].name=a",
            "--set", "shards[1].name=b", "--set", "shards[1].selector=team in (x\\,y)", "--set", "shards[1].replicas=3",
            "--set", "metrics.serviceMonitor.enabled=true", "--api-versions", "monitoring.coreos.com/v1");

        var deployments = OfKind(docs, "Deployment").ToDictionary(d => Text(d, "metadata", "name"));
        Assert.Equal([Release + "-a", Release + "-b", Release + "-default"], deployments.Keys.Order(StringComparer.Ordinal));
        var (a, b, dflt) = (deployments[Release + "-a"], deployments[Release + "-b"], deployments[Release + "-default"]);
        Assert.Equal("resilience.dev/shard=a", Arg(a, "--shard-selector"));
        Assert.Equal("team in (x,y)", Arg(b, "--shard-selector"));
        Assert.Equal("!resilience.dev/shard", Arg(dflt, "--shard-selector"));
        // A Lease each; the default shard keeps the release's, which the single Deployment used.
        Assert.Equal(Release + "-leader-a", Arg(a, "--lease-name"));
        Assert.Equal(Release + "-leader-b", Arg(b, "--lease-name"));
        Assert.Equal(Release + "-leader", Arg(dflt, "--lease-name"));
        Assert.All(deployments.Values, d => Assert.Contains("--leader-elect", Strings(Container(d), "args")));
        Assert.Equal("3", Text(b, "spec", "replicas"));
        Assert.Equal("2", Text(a, "spec", "replicas"));

        // Selectors do not overlap: a Deployment's pods are its own, and each shard keeps one pod through a disruption.
        var selectors = deployments.Values.Select(d => Canonical(At(d, "spec", "selector", "matchLabels"))).ToList();
        Assert.Equal(3, selectors.Distinct().Count());
        foreach (var d in deployments.Values)
        {
            var podLabels = (YamlMappingNode)At(d, "spec", "template", "metadata", "labels");
            foreach (var (key, value) in ((YamlMappingNode)At(d, "spec", "selector", "matchLabels")).Children)
                Assert.Equal(((YamlScalarNode)value).Value, ((YamlScalarNode)podLabels[key]).Value);
        }
        var pdbs = OfKind(docs, "PodDisruptionBudget");
        Assert.Equal(3, pdbs.Count);
        Assert.Equal(selectors.Order(StringComparer.Ordinal), pdbs.Select(p => Canonical(At(p, "spec", "selector", "matchLabels"))).Order(StringComparer.Ordinal));

        // Every series says which shard's pod it came from.
        Assert.Equal(["resilience.dev/operator-shard"], Strings(Single(docs, "ServiceMonitor"), "spec", "podTargetLabels"));

        // The webhook and metrics Services select every shard's pods: the webhook is stateless, and every shard has series.
        foreach (var name in new[] { Release + "-webhook", Release + "-metrics" })
        {
            var selector = (YamlMappingNode)At(Named(docs, "Service", name), "spec", "selector");
            foreach (var d in deployments.Values)
            {
                var podLabels = (YamlMappingNode)At(d, "spec", "template", "metadata", "labels");
                Assert.All(selector.Children, kv => Assert.Equal(((YamlScalarNode)kv.Value).Value, ((YamlScalarNode)podLabels[kv.Key]).Value));
            }
        }
    }

    [Fact]
    public async Task Template_ShardsWithoutTheDefault_OnlyTheNamedShards()
    {
        var lint = await HelmAsync("lint", "--strict", ChartDir, "--set", "shards[0].name=a", "--set", "defaultShard.enabled=false");
        Assert.True(lint.ExitCode == 0, $"helm lint --strict failed:\n{lint.Output}");
        var docs = await TemplateAsync("--set", "shards[0].name=a", "--set", "defaultShard.enabled=false");
        Assert.Equal(Release + "-a", Text(Single(docs, "Deployment"), "metadata", "name"));
        Assert.Empty(OfKind(docs, "PodDisruptionBudget"));
    }

    [Theory]
    [InlineData("shards[0].name=a,shards[1].name=a", "used twice")]
    [InlineData("shards[0].name=default", "used twice")]
    [InlineData("shards[0].name=a,extraArgs[0]=--lease-name=x", "every shard")]
    [InlineData("shards[0].name=A", "shards")]
    public async Task Template_ShardsThatWouldShareALease_Refused(string set, string expected)
    {
        var result = await HelmAsync("template", Release, ChartDir, "--namespace", Namespace, "--set", set);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(expected, result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Template_LeaseName_PerReleaseSoTwoReleasesInOneNamespaceDoNotShare()
    {
        static string Lease(List<YamlMappingNode> docs)
        {
            var args = Strings(Container(Single(docs, "Deployment")), "args");
            return args[args.IndexOf("--lease-name") + 1];
        }
        var first = await HelmAsync("template", "team-a", ChartDir, "--namespace", Namespace, "--set", "replicaCount=2");
        var second = await HelmAsync("template", "team-b", ChartDir, "--namespace", Namespace, "--set", "replicaCount=2");
        Assert.Equal("team-a-resilience-operator-leader", Lease(LoadAll(first.Stdout)));
        Assert.Equal("team-b-resilience-operator-leader", Lease(LoadAll(second.Stdout)));
        Assert.Equal("ops-leader", Lease(await TemplateAsync("--set", "fullnameOverride=ops")));
        Assert.Equal("my-lease", Lease(await TemplateAsync("--set", "leaderElection.leaseName=my-lease")));
    }

    [Fact]
    public async Task Rbac_NamespacedMode_RoleAndBindingPerWatchedNamespaceAndNoClusterRole()
    {
        var clusterRole = Named(await TemplateAsync(), "ClusterRole", Release + "-manager");
        var docs = await TemplateAsync("--set", "rbac.clusterWide=false", "--set", "watchNamespaces={team-a,team-b}");
        // Only the webhook's: its ValidatingWebhookConfiguration is cluster-scoped.
        Assert.Equal([Release + "-webhook"], Names(docs, "ClusterRole"));
        Assert.Equal([Release + "-webhook"], Names(docs, "ClusterRoleBinding"));

        var roles = OfKind(docs, "Role");
        var managers = roles.Where(r => Text(r, "metadata", "name") == Release + "-manager").ToList();
        Assert.Equal(["team-a", "team-b"], managers.Select(r => Text(r, "metadata", "namespace")).Order(StringComparer.Ordinal));
        Assert.All(managers, r => Assert.Equal(Rules(clusterRole), Rules(r)));
        // Secrets "get" only in the watched namespaces; in the release namespace only the webhook's
        // own Secret (by name) and "create" (Webhook_OperatorManagedTls_RbacIsConfigRbacWebhookRole).
        var secretRules = docs.Where(d => Find(d, "rules") is not null).SelectMany(d => Rules(d).Where(r => r.Contains("| secrets |", StringComparison.Ordinal))
            .Select(_ => Text(d, "kind") + " " + (Find(d, "metadata", "namespace") is YamlScalarNode ns ? ns.Value : "(cluster)"))).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["Role resilience-system", "Role resilience-system", "Role team-a", "Role team-b"], secretRules);
        Assert.Equal(["resilience-system"], docs.Where(d => Text(d, "kind") == "Role" && Text(d, "metadata", "name") == Release + "-webhook")
            .Select(d => Text(d, "metadata", "namespace")));

        var leader = Assert.Single(roles, r => Text(r, "metadata", "name") == Release + "-leader-election");
        Assert.Equal(Namespace, Text(leader, "metadata", "namespace"));

        var bindings = OfKind(docs, "RoleBinding").Where(b => Text(b, "metadata", "name") == Release + "-manager").ToList();
        Assert.Equal(["team-a", "team-b"], bindings.Select(b => Text(b, "metadata", "namespace")).Order(StringComparer.Ordinal));
        foreach (var binding in bindings)
        {
            Assert.Equal("Role", Text(binding, "roleRef", "kind"));
            Assert.Equal(Release + "-manager", Text(binding, "roleRef", "name"));
            Assert.Equal(Release, Text(binding, "subjects", "0", "name"));
            Assert.Equal(Namespace, Text(binding, "subjects", "0", "namespace"));
        }
        var args = Strings(Container(Single(docs, "Deployment")), "args");
        Assert.Equal("team-a,team-b", args[args.IndexOf("--namespaces") + 1]);

        // Kubernetes 1.20 serves no policy/v1: the PDB discovery needs "list" to get 404 instead of 403.
        var old = await TemplateAsync("--set", "rbac.clusterWide=false", "--set", "watchNamespaces={team-a}", "--kube-version", "1.20.2");
        var discovery = Named(old, "ClusterRole", Release + "-pdb-discovery");
        Assert.Equal(["policy | poddisruptionbudgets | list"], Rules(discovery));
        Assert.Equal(Text(discovery, "metadata", "name"), Text(Named(old, "ClusterRoleBinding", Release + "-pdb-discovery"), "roleRef", "name"));

        var none = await HelmAsync("template", Release, ChartDir, "--namespace", Namespace, "--set", "rbac.clusterWide=false");
        Assert.NotEqual(0, none.ExitCode);
        Assert.Contains("watchNamespaces", none.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void CiValues_AreTheCasesTheTestsAssert()
    {
        var files = Directory.GetFiles(Path.Combine(ChartDir, "ci"), "*-values.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(CiFiles.Order(StringComparer.Ordinal), files);
    }

    private static readonly string[] CiFiles =
        ["default-values.yaml", "namespaced-rbac-values.yaml", "monitoring-values.yaml", "digest-extra-values.yaml", "openshift-values.yaml",
         "webhook-certmanager-values.yaml"];

    public static TheoryData<string> CiCases() => new(CiFiles);

    [Theory]
    [MemberData(nameof(CiCases))]
    public async Task CiValues_LintAndRenderWithTheirKeyFields(string file)
    {
        var values = Path.Combine(ChartDir, "ci", file);
        var lint = await HelmAsync("lint", "--strict", ChartDir, "-f", values);
        Assert.True(lint.ExitCode == 0, $"helm lint --strict -f ci/{file} failed:\n{lint.Output}");
        var docs = await TemplateAsync("-f", values, "--api-versions", "monitoring.coreos.com/v1");
        var deployment = Single(docs, "Deployment");
        var pod = At(deployment, "spec", "template", "spec");
        var container = Container(deployment);
        var args = Strings(container, "args");
        // Every case: the restricted container context, a Lease of the release, and the helm test pod.
        Assert.Equal("true", Text(container, "securityContext", "readOnlyRootFilesystem"));
        Assert.Equal("true", Text(pod, "securityContext", "runAsNonRoot"));
        Assert.EndsWith("-leader", args[args.IndexOf("--lease-name") + 1], StringComparison.Ordinal);
        var test = Assert.Single(OfKind(docs, "Pod"));
        Assert.Equal("test", Text(test, "metadata", "annotations", "helm.sh/hook"));
        var service = Assert.Single(OfKind(docs, "Service"), d => Text(d, "metadata", "name").EndsWith("-metrics", StringComparison.Ordinal));
        Assert.EndsWith($"http://{Text(service, "metadata", "name")}.{Namespace}.svc:8080/readyz", Strings(test, "spec", "containers", "0", "command").Last(), StringComparison.Ordinal);
        // The Service must not select the test pod.
        var testLabels = (YamlMappingNode)At(test, "metadata", "labels");
        Assert.False(((YamlMappingNode)At(service, "spec", "selector")).Children.All(kv => testLabels.Children.TryGetValue(kv.Key, out var v) && Canonical(v) == Canonical(kv.Value)));

        switch (file)
        {
            case "default-values.yaml":
                Assert.Equal("10001", Text(pod, "securityContext", "runAsUser"));
                Assert.Equal("resilience-operator-leader", args[args.IndexOf("--lease-name") + 1]);
                Assert.Equal(["resilience-operator-manager", "resilience-operator-webhook"], Names(docs, "ClusterRole"));
                Assert.DoesNotContain("--namespaces", args);
                Assert.Equal("busybox:1.36", Text(test, "spec", "containers", "0", "image"));
                break;
            case "namespaced-rbac-values.yaml":
                Assert.Equal(["resilience-operator-webhook"], Names(docs, "ClusterRole"));
                Assert.Equal(["resilience-operator-webhook"], Names(docs, "ClusterRoleBinding"));
                Assert.Equal(["resilience-system", "resilience-system", "team-a", "team-b"], OfKind(docs, "Role").Select(r => Text(r, "metadata", "namespace")).Order(StringComparer.Ordinal));
                Assert.Equal("team-a,team-b", args[args.IndexOf("--namespaces") + 1]);
                break;
            case "monitoring-values.yaml":
                foreach (var kind in new[] { "ServiceMonitor", "PrometheusRule" })
                {
                    var o = Single(docs, kind);
                    Assert.Equal("monitoring", Text(o, "metadata", "namespace"));
                    Assert.Equal("kube-prometheus-stack", Text(o, "metadata", "labels", "release"));
                }
                var monitor = Single(docs, "ServiceMonitor");
                Assert.Equal("app.kubernetes.io/name", Text(monitor, "spec", "jobLabel"));
                Assert.Equal("10s", Text(monitor, "spec", "endpoints", "0", "scrapeTimeout"));
                Assert.Equal("resilience-metrics", Text(service, "metadata", "name"));
                Assert.Equal($"absent(up{{job=\"resilience-operator\", namespace=\"{Namespace}\"}} == 1)", OperatorDownExpr(Single(docs, "PrometheusRule")));
                Assert.StartsWith("https://runbooks.example.com/resilience-operator#", Text(Single(docs, "PrometheusRule"), "spec", "groups", "0", "rules", "0", "annotations", "runbook_url"), StringComparison.Ordinal);
                Assert.Single(OfKind(docs, "ConfigMap"));
                break;
            case "digest-extra-values.yaml":
                Assert.Equal("ghcr.io/resilience-operator/resilience-operator@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Text(container, "image"));
                Assert.Equal(["--workers", "8", "--lease-duration", "30s"], args[^4..]);
                Assert.Contains("--leader-elect", args);
                Assert.Equal(["POD_NAMESPACE", "SSL_CERT_DIR", "DOTNET_GCHeapHardLimitPercent"], ((YamlSequenceNode)At(container, "env")).Children.Select(e => Text(e, "name")));
                Assert.Equal("/etc/webhook-ca", Text(container, "volumeMounts", "1", "mountPath"));
                Assert.Equal("webhook-ca", Text(pod, "volumes", "1", "configMap", "name"));
                Assert.Equal("system-cluster-critical", Text(pod, "priorityClassName"));
                Assert.Equal("topology.kubernetes.io/zone", Text(pod, "topologySpreadConstraints", "0", "topologyKey"));
                Assert.Equal("20", Text(container, "livenessProbe", "periodSeconds"));
                Assert.Equal("5", Text(container, "livenessProbe", "failureThreshold"));
                Assert.Equal("10", Text(container, "readinessProbe", "periodSeconds"));
                Assert.Single(OfKind(docs, "PodDisruptionBudget"));
                break;
            case "openshift-values.yaml":
                foreach (var field in new[] { "runAsUser", "runAsGroup", "fsGroup" })
                {
                    Assert.Null(Find(pod, "securityContext", field));
                    Assert.Null(Find(test, "spec", "securityContext", field));
                }
                Assert.Equal("RuntimeDefault", Text(pod, "securityContext", "seccompProfile", "type"));
                Assert.Equal(["ALL"], Strings(container, "securityContext", "capabilities", "drop"));
                break;
            case "webhook-certmanager-values.yaml":
                Assert.Equal("/tmp/k8s-webhook-server/serving-certs", args[args.IndexOf("--webhook-cert-dir") + 1]);
                Assert.DoesNotContain("--webhook-secret", args);
                Assert.Empty(OfKind(docs, "Issuer"));
                var certificate = Single(docs, "Certificate");
                Assert.Equal("cluster-ca", Text(certificate, "spec", "issuerRef", "name"));
                Assert.Equal("ClusterIssuer", Text(certificate, "spec", "issuerRef", "kind"));
                Assert.Equal($"{Namespace}/resilience-operator-webhook",
                    Text(Single(docs, "ValidatingWebhookConfiguration"), "metadata", "annotations", "cert-manager.io/inject-ca-from"));
                Assert.Equal(["resilience-operator-manager"], Names(docs, "ClusterRole"));
                break;
            default:
                Assert.Fail($"ci/{file} has no assertions");
                break;
        }
    }

    // ---- the admission webhook (docs/admission.md) ------------------------------------------

    /// <summary>The four webhooks: name, kind (AdmissionHandler.Paths' key) and plural resource.</summary>
    private static readonly (string Name, string Kind, string Resource)[] Webhooks =
    [
        ("vresiliencepolicy.resilience.dev", "ResiliencePolicy", "resiliencepolicies"),
        ("vresiliencebackup.resilience.dev", "ResilienceBackup", "resiliencebackups"),
        ("vresiliencerestore.resilience.dev", "ResilienceRestore", "resiliencerestores"),
        ("vresiliencedrill.resilience.dev", "ResilienceDrill", "resiliencedrills"),
    ];

    [Fact]
    public async Task Webhook_Defaults_ConfigurationWithFourWebhooksServiceAndArgs()
    {
        var docs = await TemplateAsync();
        var configuration = Single(docs, "ValidatingWebhookConfiguration");
        Assert.Equal(Release, Text(configuration, "metadata", "name"));
        Assert.Null(Find(configuration, "metadata", "annotations"));
        var webhooks = ((YamlSequenceNode)At(configuration, "webhooks")).Children.Cast<YamlMappingNode>().ToList();
        Assert.Equal(Webhooks.Select(w => w.Name), webhooks.Select(w => Text(w, "name")));
        Assert.Equal(Webhooks.Select(w => w.Kind).Order(StringComparer.Ordinal), ResilienceOperator.Admission.AdmissionHandler.Paths.Keys.Order(StringComparer.Ordinal));
        foreach (var (webhook, (_, kind, resource)) in webhooks.Zip(Webhooks))
        {
            var rule = Assert.Single(((YamlSequenceNode)At(webhook, "rules")).Children);
            Assert.Equal(["resilience.dev"], Strings(rule, "apiGroups"));
            Assert.Equal(["v1alpha1"], Strings(rule, "apiVersions"));
            Assert.Equal([resource], Strings(rule, "resources"));
            Assert.Equal(["CREATE", "UPDATE"], Strings(rule, "operations"));
            Assert.Equal("Namespaced", Text(rule, "scope"));
            Assert.Equal(Release + "-webhook", Text(webhook, "clientConfig", "service", "name"));
            Assert.Equal(Namespace, Text(webhook, "clientConfig", "service", "namespace"));
            Assert.Equal(ResilienceOperator.Admission.AdmissionHandler.Paths[kind], Text(webhook, "clientConfig", "service", "path"));
            Assert.Equal("443", Text(webhook, "clientConfig", "service", "port"));
            // The operator sets caBundle; the chart must not render one (it would fight the operator).
            Assert.Null(Find(webhook, "clientConfig", "caBundle"));
            Assert.Null(Find(webhook, "clientConfig", "url"));
            Assert.Equal("Ignore", Text(webhook, "failurePolicy"));
            Assert.Equal("5", Text(webhook, "timeoutSeconds"));
            Assert.Equal("None", Text(webhook, "sideEffects"));
            Assert.Equal(["v1", "v1beta1"], Strings(webhook, "admissionReviewVersions"));
            Assert.Equal("Equivalent", Text(webhook, "matchPolicy"));
            Assert.Null(Find(webhook, "namespaceSelector"));
        }

        var service = Named(docs, "Service", Release + "-webhook");
        var port = Assert.Single(((YamlSequenceNode)At(service, "spec", "ports")).Children);
        Assert.Equal("443", Text(port, "port"));
        Assert.Equal("webhook", Text(port, "targetPort"));
        var deployment = Single(docs, "Deployment");
        Assert.Equal(Canonical(At(deployment, "spec", "selector", "matchLabels")), Canonical(At(service, "spec", "selector")));

        var container = Container(deployment);
        var containerPort = Assert.Single(((YamlSequenceNode)At(container, "ports")).Children, p => Text(p, "name") == "webhook");
        Assert.Equal("9443", Text(containerPort, "containerPort"));
        var args = Strings(container, "args");
        Assert.Equal("9443", args[args.IndexOf("--webhook-port") + 1]);
        Assert.Equal(Release + "-webhook", args[args.IndexOf("--webhook-service") + 1]);
        Assert.Equal(Release, args[args.IndexOf("--webhook-configuration") + 1]);
        Assert.Equal(Release + "-webhook-tls", args[args.IndexOf("--webhook-secret") + 1]);
        Assert.DoesNotContain("--webhook-cert-dir", args);
        Assert.Empty(OfKind(docs, "Certificate"));
        Assert.Empty(OfKind(docs, "Issuer"));

        // Names follow the release; the values reach the configuration and the args.
        var other = await TemplateAsync("--set", "fullnameOverride=ops", "--set", "webhook.port=10250",
            "--set", "webhook.failurePolicy=Fail", "--set", "webhook.timeoutSeconds=10");
        var otherConfiguration = Named(other, "ValidatingWebhookConfiguration", "ops");
        Assert.All(((YamlSequenceNode)At(otherConfiguration, "webhooks")).Children, w =>
        {
            Assert.Equal("ops-webhook", Text(w, "clientConfig", "service", "name"));
            Assert.Equal("Fail", Text(w, "failurePolicy"));
            Assert.Equal("10", Text(w, "timeoutSeconds"));
        });
        Named(other, "Service", "ops-webhook");
        var otherArgs = Strings(Container(Single(other, "Deployment")), "args");
        Assert.Equal(["--webhook-port", "10250", "--webhook-service", "ops-webhook", "--webhook-configuration", "ops", "--webhook-secret", "ops-webhook-tls"],
            otherArgs[otherArgs.IndexOf("--webhook-port")..(otherArgs.IndexOf("--webhook-port") + 8)]);
        Assert.Equal("10250", Text(Assert.Single(((YamlSequenceNode)At(Container(Single(other, "Deployment")), "ports")).Children, p => Text(p, "name") == "webhook"), "containerPort"));
    }

    [Fact]
    public async Task Webhook_OperatorManagedTls_RbacIsConfigRbacWebhookRole()
    {
        var file = LoadAll(await File.ReadAllTextAsync(Path.Combine(RepoRoot(), "config", "rbac", "webhook_role.yaml")));
        // The file is written for release "resilience-operator" in resilience-system: the chart's names match it there.
        foreach (var rbac in new[] { await TemplateAsync(), await TemplateAsync("--set", "rbac.clusterWide=false", "--set", "watchNamespaces={team-a}") })
        {
            foreach (var kind in new[] { "ClusterRole", "Role" })
            {
                var expected = Single(file, kind);
                var rendered = Named(rbac, kind, Release + "-webhook");
                Assert.Equal(Canonical(At(expected, "rules")), Canonical(At(rendered, "rules")));
                Assert.Equal(Find(expected, "metadata", "namespace") is null, Find(rendered, "metadata", "namespace") is null);
            }
            foreach (var (kind, roleKind) in new[] { ("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role") })
            {
                var binding = Named(rbac, kind, Release + "-webhook");
                Assert.Equal(roleKind, Text(binding, "roleRef", "kind"));
                Assert.Equal(Release + "-webhook", Text(binding, "roleRef", "name"));
                Assert.Equal(Release, Text(binding, "subjects", "0", "name"));
                Assert.Equal(Namespace, Text(binding, "subjects", "0", "namespace"));
            }
            Assert.Equal(Namespace, Text(Named(rbac, "Role", Release + "-webhook"), "metadata", "namespace"));
        }
        // Templated names: the configuration and the Secret of this release only.
        var ops = await TemplateAsync("--set", "fullnameOverride=ops");
        Assert.Equal(["ops"], Strings(Named(ops, "ClusterRole", "ops-webhook"), "rules", "0", "resourceNames"));
        Assert.Equal(["ops-webhook-tls"], Strings(Named(ops, "Role", "ops-webhook"), "rules", "0", "resourceNames"));
    }

    [Fact]
    public async Task Webhook_Disabled_RendersNoneOfIt()
    {
        var docs = await TemplateAsync("--set", "webhook.enabled=false");
        Assert.Empty(OfKind(docs, "ValidatingWebhookConfiguration"));
        Assert.Empty(OfKind(docs, "Certificate"));
        Assert.Empty(OfKind(docs, "Issuer"));
        Assert.Equal([Release + "-metrics"], Names(docs, "Service"));
        Assert.Equal([Release + "-manager"], Names(docs, "ClusterRole"));
        Assert.Equal([Release + "-leader-election"], Names(docs, "Role"));
        var container = Container(Single(docs, "Deployment"));
        Assert.DoesNotContain(Strings(container, "args"), a => a.StartsWith("--webhook", StringComparison.Ordinal));
        Assert.Equal(["http-metrics"], ((YamlSequenceNode)At(container, "ports")).Children.Select(p => Text(p, "name")));

        // cert-manager settings change nothing while the webhook is off.
        var certManager = await TemplateAsync("--set", "webhook.enabled=false", "--set", "webhook.certManager.enabled=true");
        Assert.Empty(OfKind(certManager, "Certificate"));
        Assert.Equal(["tmp"], ((YamlSequenceNode)At(Single(certManager, "Deployment"), "spec", "template", "spec", "volumes")).Children.Select(v => Text(v, "name")));
    }

    [Fact]
    public async Task Webhook_CertManager_SelfSignedIssuerCertificateInjectCaVolumeAndNoWebhookRbac()
    {
        var docs = await TemplateAsync("--set", "webhook.certManager.enabled=true");
        var issuer = Single(docs, "Issuer");
        Assert.Equal(Namespace, Text(issuer, "metadata", "namespace"));
        Assert.NotNull(Find(issuer, "spec", "selfSigned"));
        var certificate = Single(docs, "Certificate");
        Assert.Equal(Release + "-webhook", Text(certificate, "metadata", "name"));
        Assert.Equal(Namespace, Text(certificate, "metadata", "namespace"));
        Assert.Equal(Text(issuer, "metadata", "name"), Text(certificate, "spec", "issuerRef", "name"));
        Assert.Equal("Issuer", Text(certificate, "spec", "issuerRef", "kind"));
        var service = Release + "-webhook";
        Assert.Equal([service, $"{service}.{Namespace}", $"{service}.{Namespace}.svc", $"{service}.{Namespace}.svc.cluster.local"], Strings(certificate, "spec", "dnsNames"));
        Named(docs, "Service", service);

        var configuration = Single(docs, "ValidatingWebhookConfiguration");
        Assert.Equal($"{Namespace}/{Release}-webhook", Text(configuration, "metadata", "annotations", "cert-manager.io/inject-ca-from"));
        Assert.Equal(4, ((YamlSequenceNode)At(configuration, "webhooks")).Children.Count);
        Assert.All(((YamlSequenceNode)At(configuration, "webhooks")).Children, w => Assert.Null(Find(w, "clientConfig", "caBundle")));

        var deployment = Single(docs, "Deployment");
        var pod = At(deployment, "spec", "template", "spec");
        var container = Container(deployment);
        var args = Strings(container, "args");
        Assert.Equal("9443", args[args.IndexOf("--webhook-port") + 1]);
        Assert.Equal("/tmp/k8s-webhook-server/serving-certs", args[args.IndexOf("--webhook-cert-dir") + 1]);
        Assert.DoesNotContain("--webhook-secret", args);
        Assert.DoesNotContain("--webhook-configuration", args);
        var volume = Assert.Single(((YamlSequenceNode)At(pod, "volumes")).Children, v => Find(v, "secret") is not null);
        Assert.Equal(Text(certificate, "spec", "secretName"), Text(volume, "secret", "secretName"));
        Assert.NotEqual(Release + "-webhook-tls", Text(volume, "secret", "secretName")); // not the operator-managed Secret
        var mount = Assert.Single(((YamlSequenceNode)At(container, "volumeMounts")).Children, m => Text(m, "name") == Text(volume, "name"));
        Assert.Equal("/tmp/k8s-webhook-server/serving-certs", Text(mount, "mountPath"));
        Assert.Equal("true", Text(mount, "readOnly"));
        Assert.Equal("true", Text(container, "securityContext", "readOnlyRootFilesystem"));

        // cert-manager writes the Secret and sets caBundle: the operator needs no webhook RBAC.
        Assert.Equal([Release + "-manager"], Names(docs, "ClusterRole"));
        Assert.Equal([Release + "-manager"], Names(docs, "ClusterRoleBinding"));
        Assert.Equal([Release + "-leader-election"], Names(docs, "Role"));
        Assert.Equal([Release + "-leader-election"], Names(docs, "RoleBinding"));

        // An issuer of the cluster: no Issuer rendered, the Certificate names it.
        var issued = await TemplateAsync("--set", "webhook.certManager.enabled=true", "--set", "webhook.certManager.issuerRef.name=corp-ca",
            "--set", "webhook.certManager.issuerRef.kind=ClusterIssuer");
        Assert.Empty(OfKind(issued, "Issuer"));
        var issuedCertificate = Single(issued, "Certificate");
        Assert.Equal("corp-ca", Text(issuedCertificate, "spec", "issuerRef", "name"));
        Assert.Equal("ClusterIssuer", Text(issuedCertificate, "spec", "issuerRef", "kind"));
        Assert.Equal("cert-manager.io", Text(issuedCertificate, "spec", "issuerRef", "group"));
    }

    [Fact]
    public async Task Webhook_WatchNamespaces_NamespaceSelectorOnTheirNames()
    {
        var docs = await TemplateAsync("--set", "watchNamespaces={team-a,team-b}");
        var webhooks = ((YamlSequenceNode)At(Single(docs, "ValidatingWebhookConfiguration"), "webhooks")).Children;
        Assert.Equal(4, webhooks.Count);
        foreach (var webhook in webhooks)
        {
            var expression = Assert.Single(((YamlSequenceNode)At(webhook, "namespaceSelector", "matchExpressions")).Children);
            Assert.Equal("kubernetes.io/metadata.name", Text(expression, "key"));
            Assert.Equal("In", Text(expression, "operator"));
            Assert.Equal(["team-a", "team-b"], Strings(expression, "values"));
            Assert.Null(Find(webhook, "namespaceSelector", "matchLabels"));
        }
    }

    [Theory]
    [InlineData("webhook.enabeld=false", "enabeld")]
    [InlineData("webhook.failurePolicy=ignore", "failurePolicy")]
    [InlineData("webhook.timeoutSeconds=60", "timeoutSeconds")]
    [InlineData("webhook.port=8080", "port")]
    [InlineData("webhook.certManager.enable=true", "enable")]
    [InlineData("webhook.certManager.issuerRef.nmae=ca", "nmae")]
    [InlineData("webhook.certManager.issuerRef.kind=ClusterIssuer", "name")]
    public async Task Webhook_SchemaRejectsTyposAndOutOfRangeValues(string set, string named)
    {
        var result = await HelmAsync("template", Release, ChartDir, "--namespace", Namespace, "--set", set);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(named, result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChartReadme_IsWhatHackChartReadmeGenerates()
    {
        var (code, output) = await Tools.Tool.RunAsync("bash", RepoRoot(), "hack/chart-readme.sh");
        Assert.True(code == 0, output);
        var committed = await File.ReadAllTextAsync(Path.Combine(ChartDir, "README.md"));
        Assert.True(committed == output, "charts/resilience-operator/README.md is not current: run `bash hack/chart-readme.sh --write`");
        // Every documented value is in the table; every top-level key of values.yaml is documented.
        foreach (var key in new[] { "extraArgs", "extraEnv", "image.digest", "podSecurityContext", "securityContext", "priorityClassName",
                     "topologySpreadConstraints", "livenessProbe", "readinessProbe", "extraVolumes", "extraVolumeMounts", "rbac.clusterWide",
                     "metrics.serviceMonitor.labels", "metrics.serviceMonitor.jobLabel", "metrics.serviceMonitor.scrapeTimeout",
                     "metrics.prometheusRule.runbookBaseUrl", "test.image.repository", "leaderElection.leaseName",
                     "webhook.enabled", "webhook.port", "webhook.failurePolicy", "webhook.timeoutSeconds", "webhook.certManager.enabled", "webhook.certManager.issuerRef" })
            Assert.Contains($"| `{key}` |", committed, StringComparison.Ordinal);
        var values = new YamlStream();
        values.Load(new StringReader(await File.ReadAllTextAsync(Path.Combine(ChartDir, "values.yaml"))));
        foreach (var (key, value) in ((YamlMappingNode)values.Documents[0].RootNode).Children)
        {
            var name = ((YamlScalarNode)key).Value!;
            var leaves = value is YamlMappingNode map && map.Children.Count > 0 && !committed.Contains($"| `{name}` |", StringComparison.Ordinal)
                ? map.Children.Keys.Select(k => $"{name}.{((YamlScalarNode)k).Value}") : [name];
            foreach (var leaf in leaves)
                Assert.True(committed.Contains($"| `{leaf}", StringComparison.Ordinal), $"values.yaml key {leaf} has no `# --` comment");
        }
    }

    [Fact]
    public async Task Rbac_ClusterRole_LeastPrivilegeAndSameAsChart()
    {
        var rbacDir = Path.Combine(RepoRoot(), "config", "rbac");
        var role = Single(LoadAll(await File.ReadAllTextAsync(Path.Combine(rbacDir, "role.yaml"))), "ClusterRole");
        Assert.Equal("resilience-operator-manager", Text(role, "metadata", "name"));
        var problems = new List<string>();
        foreach (var rule in ((YamlSequenceNode)At(role, "rules")).Children)
        {
            foreach (var field in new[] { "apiGroups", "resources", "verbs" })
                if (Strings(rule, field).Any(v => v.Contains('*', StringComparison.Ordinal))) problems.Add($"{field} has a wildcard: {Canonical(rule)}");
            // Secrets: only "get" of the Secret a webhook's secretRef names; never list/watch (which would reveal every Secret) nor writes.
            if (Strings(rule, "resources").Any(r => r.Split('/')[0] == "secrets")
                && (Strings(rule, "resources").Any(r => r != "secrets") || !Strings(rule, "verbs").SequenceEqual(["get"])))
                problems.Add("rule reaches secrets beyond get: " + Canonical(rule));
            if (Find(rule, "nonResourceURLs") is not null) problems.Add("nonResourceURLs: " + Canonical(rule));
        }
        Assert.Empty(problems);

        var docs = await TemplateAsync();
        Assert.Equal(Rules(role), Rules(Named(docs, "ClusterRole", Release + "-manager")));

        var leaderElection = Single(LoadAll(await File.ReadAllTextAsync(Path.Combine(rbacDir, "leader_election_role.yaml"))), "Role");
        Assert.Equal(Namespace, Text(leaderElection, "metadata", "namespace"));
        Assert.Equal(["coordination.k8s.io | leases | get,create,update"], Rules(leaderElection));
        Assert.Equal(Rules(leaderElection), Rules(Named(docs, "Role", Release + "-leader-election")));
    }

    [Fact]
    public async Task Rbac_Manifests_BindTheRolesToTheServiceAccount()
    {
        var rbacDir = Path.Combine(RepoRoot(), "config", "rbac");
        var account = Single(LoadAll(await File.ReadAllTextAsync(Path.Combine(rbacDir, "service_account.yaml"))), "ServiceAccount");
        Assert.Equal("resilience-operator", Text(account, "metadata", "name"));
        Assert.Equal(Namespace, Text(account, "metadata", "namespace"));

        var binding = Single(LoadAll(await File.ReadAllTextAsync(Path.Combine(rbacDir, "role_binding.yaml"))), "ClusterRoleBinding");
        Assert.Equal("ClusterRole", Text(binding, "roleRef", "kind"));
        Assert.Equal("resilience-operator-manager", Text(binding, "roleRef", "name"));
        Assert.Equal("resilience-operator", Text(binding, "subjects", "0", "name"));
        Assert.Equal(Namespace, Text(binding, "subjects", "0", "namespace"));

        var leaderDocs = LoadAll(await File.ReadAllTextAsync(Path.Combine(rbacDir, "leader_election_role.yaml")));
        var roleBinding = Single(leaderDocs, "RoleBinding");
        Assert.Equal("Role", Text(roleBinding, "roleRef", "kind"));
        Assert.Equal(Text(Single(leaderDocs, "Role"), "metadata", "name"), Text(roleBinding, "roleRef", "name"));
        Assert.Equal(Namespace, Text(roleBinding, "metadata", "namespace"));
        Assert.Equal("resilience-operator", Text(roleBinding, "subjects", "0", "name"));
        Assert.Equal(Namespace, Text(roleBinding, "subjects", "0", "namespace"));
    }
}
