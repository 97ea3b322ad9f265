using System.Globalization;
using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Autorest;
using k8s.Models;
using ResilienceOperator.Admission;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Chaos;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Admission;

/// <summary>
/// The local API server calls the operator's validating webhook (clientConfig url on loopback,
/// caBundle set by the operator from the CA it made): `kubectl apply` of each bad spec the webhook
/// can judge fails naming the field, and a good policy applies.
/// </summary>
[Collection("cluster")]
public sealed class AdmissionWebhookTests(ClusterFixture cluster)
{
    private const string GoodSpec = """
          targets: [{name: primary, priority: 0}, {name: standby, priority: 10}]
          service: {name: checkout}
          healthCheck: {interval: 1s, timeout: 500ms, retries: 2, http: {path: /healthz, port: 8080}}
        """;

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Webhook_BadSpecs_DeniedNamingTheFieldAndGoodPolicyApplies()
    {
        var ns = await cluster.CreateNamespaceAsync("admission");
        // Only this namespace is selected, so a leftover configuration never blocks another test.
        await cluster.Client.CoreV1.PatchNamespaceAsync(new V1Patch("{\"metadata\":{\"labels\":{\"resilience.dev/admission-test\":\"" + ns + "\"}}}", V1Patch.PatchType.MergePatch), ns);
        var port = FreePort();
        var configName = "resilience-operator-" + ns;
        await cluster.Client.AdmissionregistrationV1.CreateValidatingWebhookConfigurationAsync(Configuration(configName, ns, port));
        OperatorProcess? op = null;
        try
        {
            op = OperatorProcess.Start(cluster.KubeconfigPath, ns, "admission", leaderElect: false,
                "--lease-namespace", ns, "--webhook-port", port.ToString(CultureInfo.InvariantCulture),
                "--webhook-configuration", configName, "--webhook-secret", "webhook-tls");

            // The operator makes its CA and certificate, puts them in the Secret and the CA into caBundle.
            await ClusterFixture.WaitUntilAsync(async () =>
                (await cluster.Client.AdmissionregistrationV1.ReadValidatingWebhookConfigurationAsync(configName)).Webhooks.All(w => w.ClientConfig.CaBundle is { Length: > 0 }),
                TimeSpan.FromSeconds(60), "caBundle set by the operator");
            var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync("webhook-tls", ns);
            var material = TlsMaterial.FromSecretData(secret.Data);
            Assert.NotNull(material);
            var vwc = await cluster.Client.AdmissionregistrationV1.ReadValidatingWebhookConfigurationAsync(configName);
            Assert.All(vwc.Webhooks, w => Assert.Equal(material.CaBundlePem, System.Text.Encoding.ASCII.GetString(w.ClientConfig.CaBundle)));

            // The API server takes the new caBundle from its own watch: wait until a server-side dry run is judged by the webhook.
            await ClusterFixture.WaitUntilAsync(async () =>
            {
                var (code, _, stderr) = await ApplyAsync(Policy(ns, "probe", GoodSpec.Replace("timeout: 500ms", "timeout: 2s", StringComparison.Ordinal)), "--dry-run=server");
                return code != 0 && stderr.Contains("denied the request", StringComparison.Ordinal);
            }, TimeSpan.FromSeconds(60), "the API server calls the webhook");

            var cases = new (string Name, string Manifest, string Field)[]
            {
                // The cases of InvalidSpecTests the webhook can see without the cluster.
                ("timeout-over-interval", Policy(ns, "timeout-over-interval", GoodSpec.Replace("timeout: 500ms", "timeout: 2s", StringComparison.Ordinal)),
                    "spec.healthCheck.timeout: 2s is longer than spec.healthCheck.interval 1s"),
                ("detection-over-rto", Policy(ns, "detection-over-rto", GoodSpec + "\n  objectives: {rto: 1s}\n"), "longer than spec.objectives.rto 1s"),
                // Now a 422 from the schema (spec.targets is a list-map keyed by name), before the webhook.
                ("duplicate-targets", Policy(ns, "duplicate-targets", GoodSpec.Replace("name: standby", "name: primary", StringComparison.Ordinal)), "spec.targets[1]"),
                // The rest of the mistakes the schema cannot catch.
                ("http-and-tcp", Policy(ns, "http-and-tcp", GoodSpec.Replace("port: 8080}", "port: 8080}, tcp: {port: 8080}", StringComparison.Ordinal)),
                    "spec.healthCheck: set http or tcp, not both"),
                ("shed-a-target", Policy(ns, "shed-a-target", GoodSpec + "\n  degradation: {shed: [{name: standby, replicas: 0}]}\n"),
                    "spec.degradation.shed[0].name: \"standby\" is a target of this policy"),
                ("fallback-a-target", Policy(ns, "fallback-a-target", GoodSpec + "\n  degradation: {fallback: primary}\n"), "spec.degradation.fallback"),
                ("bad-cron", Policy(ns, "bad-cron", GoodSpec + "\n  backup: {schedule: \"61 * * * *\", template: {spec: {containers: [{name: b, image: busybox}]}}}\n"),
                    "spec.backup.schedule"),
                ("bad-time-zone", Policy(ns, "bad-time-zone", GoodSpec + "\n  backup: {schedule: \"0 * * * *\", timeZone: Mars/Olympus, template: {spec: {containers: [{name: b, image: busybox}]}}}\n"),
                    "spec.backup.timeZone"),
                ("restore-without-template", Policy(ns, "restore-without-template", GoodSpec.Replace("http: {", "onFail: Restore, http: {", StringComparison.Ordinal)),
                    "spec.restore.template"),
                ("verify-without-restore", Policy(ns, "verify-without-restore", GoodSpec + "\n  backup: {schedule: \"0 * * * *\", " +
                    "template: {spec: {containers: [{name: b, image: busybox}]}}, " +
                    "verify: {schedule: \"@daily\", template: {spec: {containers: [{name: v, image: busybox}]}}}}\n"),
                    "spec.backup.verify: needs spec.restore.template"),
                ("bad-drill-schedule", Policy(ns, "bad-drill-schedule", GoodSpec + "\n  drills: {schedule: \"0 25 * * *\"}\n"), "spec.drills.schedule"),
            };
            var failures = new List<string>();
            foreach (var (name, manifest, field) in cases)
            {
                var (code, _, stderr) = await ApplyAsync(manifest);
                if (code == 0) failures.Add($"{name}: applied");
                else if (!stderr.Contains(field, StringComparison.Ordinal)) failures.Add($"{name}: no \"{field}\" in: {stderr.Trim()}");
            }
            Assert.True(failures.Count == 0, string.Join("\n", failures));

            // A good policy applies (its missing Deployments are the reconciler's to report), and a bad UPDATE of it is denied too.
            var good = await ApplyAsync(Policy(ns, "checkout", GoodSpec));
            Assert.True(good.ExitCode == 0, good.Stderr);
            var update = await ApplyAsync(Policy(ns, "checkout", GoodSpec.Replace("timeout: 500ms", "timeout: 2s", StringComparison.Ordinal)));
            Assert.NotEqual(0, update.ExitCode);
            Assert.Contains("spec.healthCheck.timeout", update.Stderr, StringComparison.Ordinal);
            // Metadata-only changes always pass (a finalizer or annotation is never blocked by the spec rules).
            var (annotated, _, annotateErr) = await cluster.RunKubectlAsync("annotate", "-n", ns, "rp", "checkout", "example.com/owner=team-a");
            Assert.True(annotated == 0, annotateErr);
        }
        finally
        {
            try { await cluster.Client.AdmissionregistrationV1.DeleteValidatingWebhookConfigurationAsync(configName); }
            catch (HttpOperationException) { }
            if (op is not null) await op.DisposeAsync();
        }
    }

    private static V1ValidatingWebhookConfiguration Configuration(string name, string ns, int port) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Webhooks = [.. AdmissionHandler.Paths.Select(kv => new V1ValidatingWebhook
        {
            Name = $"v{kv.Key.ToLowerInvariant()}.resilience.dev",
            ClientConfig = new Admissionregistrationv1WebhookClientConfig { Url = $"https://127.0.0.1:{port}{kv.Value}" },
            Rules = [new V1RuleWithOperations
            {
                ApiGroups = [GroupVersion.Group], ApiVersions = [GroupVersion.Version],
                Operations = ["CREATE", "UPDATE"], Resources = [Plural(kv.Key)], Scope = "Namespaced",
            }],
            NamespaceSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["resilience.dev/admission-test"] = ns } },
            // As the chart renders it: see docs/admission.md.
            FailurePolicy = "Ignore",
            TimeoutSeconds = 5,
            SideEffects = "None",
            AdmissionReviewVersions = ["v1", "v1beta1"],
            MatchPolicy = "Equivalent",
        })],
    };

    private static string Plural(string kind) => kind switch
    {
        ResiliencePolicy.KubeKind => ResiliencePolicy.KubePluralName,
        ResilienceBackup.KubeKind => ResilienceBackup.KubePluralName,
        ResilienceRestore.KubeKind => ResilienceRestore.KubePluralName,
        _ => ResilienceDrill.KubePluralName,
    };

    private static string Policy(string ns, string name, string spec) => $"""
        apiVersion: resilience.dev/v1alpha1
        kind: ResiliencePolicy
        metadata: {"{"}name: {name}, namespace: {ns}{"}"}
        spec:
        {spec}
        """;

    private async Task<(int ExitCode, string Stdout, string Stderr)> ApplyAsync(string manifest, params string[] extra)
    {
        var file = Path.Combine(Path.GetTempPath(), $"admission-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, manifest);
        try { return await cluster.RunKubectlAsync(["apply", "--validate=false", "-f", file, .. extra]); }
        finally { File.Delete(file); }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
