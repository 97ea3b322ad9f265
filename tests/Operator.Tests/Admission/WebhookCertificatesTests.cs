using System.Net;
using System.Security.Cryptography.X509Certificates;
using ResilienceOperator.Admission;

namespace ResilienceOperator.Tests.Admission;

public sealed class WebhookCertificatesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 3, 0, 0, TimeSpan.Zero);
    private static readonly IReadOnlyList<string> Names = WebhookCertificates.DnsNames("resilience-operator-webhook", "resilience-system");

    [Fact]
    public void Generate_ServingCertificateSignedByCaWithServiceNamesAndLoopback()
    {
        var m = WebhookCertificates.Generate(Names, Now);
        using var ca = m.Ca();
        using var cert = m.Serving();
        Assert.True(cert.HasPrivateKey);
        Assert.Equal(ca.Subject, cert.Issuer);
        var san = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("resilience-operator-webhook.resilience-system.svc", san.EnumerateDnsNames());
        Assert.Contains(IPAddress.Loopback, san.EnumerateIPAddresses());
        Assert.Equal(Now.UtcDateTime + WebhookCertificates.Validity, cert.NotAfter.ToUniversalTime(), TimeSpan.FromSeconds(1));
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Null(WebhookCertificates.RenewalReason(m, Names, Now));
        // What the Secret holds reads back the same.
        Assert.Equal(m, TlsMaterial.FromSecretData(m.ToSecretData()));
    }

    [Fact]
    public void RenewalReason_RenewedWhenLessThan30DaysRemain()
    {
        var m = WebhookCertificates.Generate(Names, Now);
        Assert.Null(WebhookCertificates.RenewalReason(m, Names, Now + TimeSpan.FromDays(334)));
        Assert.Contains("expires", WebhookCertificates.RenewalReason(m, Names, Now + TimeSpan.FromDays(336)), StringComparison.Ordinal);
    }

    [Fact]
    public void RenewalReason_MissingOtherServiceOrForeignCa()
    {
        Assert.Equal("no certificate yet", WebhookCertificates.RenewalReason(null, Names, Now));
        var m = WebhookCertificates.Generate(Names, Now);
        Assert.Contains("does not name other-webhook", WebhookCertificates.RenewalReason(m, WebhookCertificates.DnsNames("other-webhook", "ns"), Now), StringComparison.Ordinal);
        var other = WebhookCertificates.Generate(Names, Now);
        Assert.Equal("the serving certificate is not signed by the CA", WebhookCertificates.RenewalReason(m with { CaBundlePem = other.CaBundlePem, CaKeyPem = other.CaKeyPem }, Names, Now));
        Assert.Contains("cannot be read", WebhookCertificates.RenewalReason(m with { CertPem = "garbage" }, Names, Now), StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_Rotation_PreviousCaKeptInTheBundleWhileValid()
    {
        var first = WebhookCertificates.Generate(Names, Now);
        var later = Now + TimeSpan.FromDays(340);
        var second = WebhookCertificates.Generate(Names, later, first);
        var bundle = WebhookCertificates.Pems(second.CaBundlePem).ToList();
        Assert.Equal(2, bundle.Count);
        Assert.Equal(WebhookCertificates.Pems(first.CaBundlePem).First(), bundle[1]);
        Assert.Null(WebhookCertificates.RenewalReason(second, Names, later));
        // Once the previous CA has expired it is dropped.
        var third = WebhookCertificates.Generate(Names, later + TimeSpan.FromDays(60), second);
        Assert.Equal(2, WebhookCertificates.Pems(third.CaBundlePem).Count());
        Assert.DoesNotContain(WebhookCertificates.Pems(first.CaBundlePem).First(), WebhookCertificates.Pems(third.CaBundlePem));
    }
}
