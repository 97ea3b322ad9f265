using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ResilienceOperator.Admission;

/// <summary>
/// The webhook's TLS material as kept in its Secret: <c>ca.crt</c> (the current CA first, then
/// the previous one while it is still valid, so a replica still serving the previous certificate
/// stays trusted during a rotation), <c>ca.key</c>, <c>tls.crt</c>, <c>tls.key</c>.
/// </summary>
internal sealed record TlsMaterial(string CaBundlePem, string CaKeyPem, string CertPem, string KeyPem)
{
    public const string CaCertKey = "ca.crt";
    public const string CaKeyKey = "ca.key";
    public const string CertKey = "tls.crt";
    public const string KeyKey = "tls.key";

    /// <summary>The current CA (the first certificate of the bundle).</summary>
    public X509Certificate2 Ca() => X509Certificate2.CreateFromPem(WebhookCertificates.Pems(CaBundlePem).First());

    /// <summary>The serving certificate with its private key, as Kestrel needs it.</summary>
    public X509Certificate2 Serving() => X509Certificate2.CreateFromPem(CertPem, KeyPem);

    public Dictionary<string, byte[]> ToSecretData() => new()
    {
        [CaCertKey] = Encoding.ASCII.GetBytes(CaBundlePem),
        [CaKeyKey] = Encoding.ASCII.GetBytes(CaKeyPem),
        [CertKey] = Encoding.ASCII.GetBytes(CertPem),
        [KeyKey] = Encoding.ASCII.GetBytes(KeyPem),
    };

    /// <summary>The material of a Secret's data; null when a key is missing.</summary>
    public static TlsMaterial? FromSecretData(IDictionary<string, byte[]>? data)
    {
        string? Get(string key) => data?.TryGetValue(key, out var v) == true && v.Length > 0 ? Encoding.ASCII.GetString(v) : null;
        return Get(CaCertKey) is { } ca && Get(CaKeyKey) is { } caKey && Get(CertKey) is { } cert && Get(KeyKey) is { } key
            ? new TlsMaterial(ca, caKey, cert, key) : null;
    }
}

/// <summary>
/// A CA and a serving certificate for the webhook, made with System.Security.Cryptography (ECDSA
/// P-256), and the decision when to make new ones — the way CloudNativePG manages its webhook
/// certificates: both valid for <see cref="Validity"/>, renewed when less than
/// <see cref="RenewBefore"/> remains.
/// </summary>
internal static class WebhookCertificates
{
    public static readonly TimeSpan Validity = TimeSpan.FromDays(365);
    public static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);
    /// <summary>Allowance for clocks that run behind ours.</summary>
    private static readonly TimeSpan Backdate = TimeSpan.FromMinutes(5);

    /// <summary>The names the serving certificate must carry: the Service in every form a client may use.</summary>
    public static IReadOnlyList<string> DnsNames(string service, string ns) =>
        [service, $"{service}.{ns}", $"{service}.{ns}.svc", $"{service}.{ns}.svc.cluster.local"];

    /// <summary>
    /// A new CA and serving certificate for <paramref name="dnsNames"/> and 127.0.0.1. The previous
    /// CA stays in the bundle while it is valid, so the certificate it signed is still trusted until
    /// every replica serves the new one.
    /// </summary>
    public static TlsMaterial Generate(IReadOnlyList<string> dnsNames, DateTimeOffset now, TlsMaterial? previous = null)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest(new X500DistinguishedName("CN=resilience-operator-webhook-ca, O=resilience.dev"), caKey,
            HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now - Backdate, now + Validity);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={(dnsNames.Count > 0 ? dnsNames[0] : "localhost")}"), key,
            HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames) san.AddDnsName(name);
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var cert = request.Create(ca, now - Backdate, now + Validity, serial);

        var bundle = ca.ExportCertificatePem() + "\n";
        if (previous is not null)
        {
            foreach (var pem in Pems(previous.CaBundlePem).Take(1))
            {
                using var old = X509Certificate2.CreateFromPem(pem);
                if (old.NotAfter.ToUniversalTime() > now.UtcDateTime) bundle += pem + "\n";
            }
        }
        return new TlsMaterial(bundle, caKey.ExportPkcs8PrivateKeyPem() + "\n", cert.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>Why the material must be made again (missing, unreadable, expiring, wrong names, not signed by the CA); null when it is good.</summary>
    public static string? RenewalReason(TlsMaterial? material, IReadOnlyList<string> dnsNames, DateTimeOffset now)
    {
        if (material is null) return "no certificate yet";
        X509Certificate2 ca, cert;
        try
        {
            ca = material.Ca();
            cert = material.Serving();
        }
        catch (CryptographicException e)
        {
            return $"the certificate cannot be read ({e.Message})";
        }
        using (ca)
        using (cert)
        {
            foreach (var (what, c) in new[] { ("CA", ca), ("serving certificate", cert) })
            {
                if (c.NotBefore.ToUniversalTime() > now.UtcDateTime + Backdate) return $"the {what} is not valid before {c.NotBefore.ToUniversalTime():O}";
                var left = c.NotAfter.ToUniversalTime() - now.UtcDateTime;
                if (left < RenewBefore) return $"the {what} expires at {c.NotAfter.ToUniversalTime():O}, in less than {RenewBefore.TotalDays:0} days";
            }
            var names = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames())
                .ToHashSet(StringComparer.OrdinalIgnoreCase);
            if (dnsNames.FirstOrDefault(n => !names.Contains(n)) is { } missing) return $"the serving certificate does not name {missing}";
            if (cert.Issuer != ca.Subject || !SignedBy(cert, ca)) return "the serving certificate is not signed by the CA";
        }
        return null;
    }

    private static bool SignedBy(X509Certificate2 cert, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid;
        return chain.Build(cert);
    }

    /// <summary>Each CERTIFICATE block of a PEM text.</summary>
    public static IEnumerable<string> Pems(string text)
    {
        var rest = text.AsMemory();
        while (PemEncoding.TryFind(rest.Span, out var fields))
        {
            var pem = rest[fields.Location].ToString();
            if (rest.Span[fields.Label].SequenceEqual("CERTIFICATE")) yield return pem;
            rest = rest[fields.Location.End..];
        }
    }
}
