using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ResilienceOperator.Admission;

/// <summary>
/// Keeps the certificate Kestrel serves the webhook with (<see cref="Current"/>, read by its
/// ServerCertificateSelector at every handshake, so a new one is used without a restart).
/// <para>
/// Managed by the operator (the default): the CA and serving certificate live in one Secret in the
/// operator's namespace. Every replica, every <see cref="Period"/>: reads the Secret; makes new
/// material when there is none or it is due (<see cref="WebhookCertificates.RenewalReason"/>) and
/// writes it with the resourceVersion it read (a replica that loses the race reads the winner's);
/// makes sure <c>caBundle</c> of every webhook in the named ValidatingWebhookConfigurations is the
/// Secret's CA bundle; only then serves the Secret's certificate, so the API server already trusts
/// it. From a directory (<c>--webhook-cert-dir</c>, cert-manager): tls.crt and tls.key are read
/// again when they change, and caBundle is left to cert-manager's CA injector.
/// </para>
/// </summary>
internal sealed class WebhookCertificateManager(IKubernetes client, OperatorOptions options, TimeProvider time, ILogger log)
{
    private volatile X509Certificate2? _current;
    private string? _servedPem;
    private readonly HashSet<string> _missingConfigurations = [];

    /// <summary>How often the Secret, the files and the webhook configurations are looked at.</summary>
    public TimeSpan Period { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The certificate to serve; null until the first one is loaded (handshakes fail until then).</summary>
    public X509Certificate2? Current => _current;

    /// <summary>The CA bundle patched into the webhook configurations (Secret mode), for tests and logs.</summary>
    public string? CaBundle { get; private set; }

    public IReadOnlyList<string> DnsNames => WebhookCertificates.DnsNames(options.WebhookService, options.LeaseNamespace);

    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try { await SyncAsync(ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                log.LogWarning("webhook certificate: {Error}; trying again", e.Message);
            }
            try { await Task.Delay(_current is null ? TimeSpan.FromSeconds(2) : Period, time, ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>One look: load or renew the certificate, patch caBundle, serve it.</summary>
    public async Task SyncAsync(CancellationToken ct)
    {
        if (options.WebhookCertDir is { } dir)
        {
            var certPem = await File.ReadAllTextAsync(Path.Combine(dir, TlsMaterial.CertKey), ct);
            var keyPem = await File.ReadAllTextAsync(Path.Combine(dir, TlsMaterial.KeyKey), ct);
            Serve(certPem, keyPem, $"files in {dir}");
            return;
        }
        var material = await EnsureSecretAsync(ct);
        CaBundle = material.CaBundlePem;
        foreach (var name in options.WebhookConfigurations) await PatchCaBundleAsync(name, material.CaBundlePem, ct);
        Serve(material.CertPem, material.KeyPem, $"Secret {options.LeaseNamespace}/{options.WebhookSecret}");
    }

    private void Serve(string certPem, string keyPem, string from)
    {
        if (certPem == _servedPem) return;
        var cert = X509Certificate2.CreateFromPem(certPem, keyPem);
        _current = cert;
        _servedPem = certPem;
        log.LogInformation("webhook: serving certificate from {From}, valid until {NotAfter:O}", from, cert.NotAfter.ToUniversalTime());
    }

    private async Task<TlsMaterial> EnsureSecretAsync(CancellationToken ct)
    {
        var ns = options.LeaseNamespace;
        var name = options.WebhookSecret;
        for (var attempt = 1; ; attempt++)
        {
            V1Secret? secret = null;
            try { secret = await client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: ct); }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
            var material = TlsMaterial.FromSecretData(secret?.Data);
            var now = time.GetUtcNow();
            if (WebhookCertificates.RenewalReason(material, DnsNames, now) is not { } reason) return material!;
            var fresh = WebhookCertificates.Generate(DnsNames, now, material);
            try
            {
                if (secret is null)
                    await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
                    {
                        Metadata = new V1ObjectMeta
                        {
                            Name = name, NamespaceProperty = ns,
                            Labels = new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "resilience-operator" },
                        },
                        Type = "Opaque",
                        Data = fresh.ToSecretData(),
                    }, ns, cancellationToken: ct);
                else
                {
                    // resourceVersion from the read: a replica that renewed meanwhile wins, this one reads its material.
                    secret.Data = fresh.ToSecretData();
                    await client.CoreV1.ReplaceNamespacedSecretAsync(secret, name, ns, cancellationToken: ct);
                }
                log.LogInformation("webhook: new CA and serving certificate in Secret {Namespace}/{Name} ({Reason})", ns, name, reason);
                return fresh;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict && attempt < 3)
            {
                // Another replica created or renewed it first: use that.
            }
        }
    }

    private async Task PatchCaBundleAsync(string name, string bundle, CancellationToken ct)
    {
        V1ValidatingWebhookConfiguration vwc;
        try { vwc = await client.AdmissionregistrationV1.ReadValidatingWebhookConfigurationAsync(name, cancellationToken: ct); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Not installed (yet): the webhook is served all the same; the API server just does not call it.
            if (_missingConfigurations.Add(name)) log.LogInformation("webhook: ValidatingWebhookConfiguration {Name} not found; caBundle not set", name);
            return;
        }
        _missingConfigurations.Remove(name);
        var wanted = Encoding.ASCII.GetBytes(bundle);
        var stale = (vwc.Webhooks ?? []).Where(w => w.ClientConfig?.CaBundle is not { } b || !b.AsSpan().SequenceEqual(wanted)).Select(w => w.Name).ToList();
        if (stale.Count == 0) return;
        var b64 = Convert.ToBase64String(wanted);
        var webhooks = new JsonArray([.. stale.Select(n =>
            (JsonNode)new JsonObject { ["name"] = n, ["clientConfig"] = new JsonObject { ["caBundle"] = b64 } })]);
        // Strategic merge: webhooks merge by name, so only caBundle changes and nothing else the chart set.
        var patch = new JsonObject { ["metadata"] = new JsonObject { ["resourceVersion"] = vwc.Metadata.ResourceVersion }, ["webhooks"] = webhooks };
        await client.AdmissionregistrationV1.PatchValidatingWebhookConfigurationAsync(
            new V1Patch(patch.ToJsonString(), V1Patch.PatchType.StrategicMergePatch), name,
            fieldManager: Kubernetes.ClusterWriter.FieldManager, cancellationToken: ct);
        log.LogInformation("webhook: caBundle set on {Webhooks} of ValidatingWebhookConfiguration {Name}", string.Join(", ", stale), name);
    }
}
