using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Exceptions;
using ResilienceOperator.Kubernetes;

namespace ResilienceOperator.Tests.Kubernetes;

/// <summary>The --kubeconfig file read without the client's general YAML serializer: the same configuration as the client's own loader gives.</summary>
public sealed class KubeconfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kubeconfig-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Pem(string subject)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return cert.ExportCertificatePem();
    }

    private string Write(string yaml)
    {
        var path = Path.Combine(_dir, "config");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void Load_TokenContextNamespaceAndRelativeCaFile_SameAsTheClientsLoader()
    {
        File.WriteAllText(Path.Combine(_dir, "ca.crt"), Pem("local-ca"));
        var path = Write("""
            apiVersion: v1
            kind: Config
            preferences: {}
            clusters:
            - name: other
              cluster:
                server: https://127.0.0.9:1
            - name: local
              cluster:
                server: https://127.0.0.1:6443
                certificate-authority: ca.crt
            users:
            - name: operator
              user:
                token: secret-token
            contexts:
            - name: local
              context:
                cluster: local
                user: operator
                namespace: resilience-system
            current-context: local
            """);

        var ours = Kubeconfig.Load(path);
        var client = KubernetesClientConfiguration.BuildConfigFromConfigFile(path);

        Assert.Equal("https://127.0.0.1:6443", ours.Host);
        Assert.Equal("secret-token", ours.AccessToken);
        Assert.Equal("resilience-system", ours.Namespace);
        Assert.Equal("CN=local-ca", Assert.Single(ours.SslCaCerts).Subject);
        Assert.Equal((client.Host, client.AccessToken, client.Namespace, client.CurrentContext, client.SkipTlsVerify),
            (ours.Host, ours.AccessToken, ours.Namespace, ours.CurrentContext, ours.SkipTlsVerify));
    }

    [Fact]
    public void Load_ClientCertificateData_SameAsTheClientsLoader()
    {
        var data = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Pem("admin")));
        var path = Write($"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: local
              cluster:
                server: https://127.0.0.1:6443
                insecure-skip-tls-verify: true
            users:
            - name: admin
              user:
                client-certificate-data: {data}
                client-key-data: a2V5
            contexts:
            - name: admin@local
              context: {"{"} cluster: local, user: admin {"}"}
            current-context: admin@local
            """);

        var ours = Kubeconfig.Load(path);
        var client = KubernetesClientConfiguration.BuildConfigFromConfigFile(path);

        Assert.True(ours.SkipTlsVerify);
        Assert.Equal(data, ours.ClientCertificateData);
        Assert.Equal((client.Host, client.ClientCertificateData, client.ClientCertificateKeyData, client.CurrentContext),
            (ours.Host, ours.ClientCertificateData, ours.ClientCertificateKeyData, ours.CurrentContext));
    }

    [Fact]
    public void Load_MissingFile_ThrowsNamingIt()
    {
        var ex = Assert.Throws<KubeConfigException>(() => Kubeconfig.Load(Path.Combine(_dir, "absent")));

        Assert.Contains(Path.Combine(_dir, "absent"), ex.Message, StringComparison.Ordinal);
    }
}
