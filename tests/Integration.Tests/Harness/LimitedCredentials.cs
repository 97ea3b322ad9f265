using k8s;
using k8s.Models;
using ResilienceOperator.IntegrationTests.Install;

namespace ResilienceOperator.IntegrationTests.Harness;

/// <summary>
/// A ServiceAccount bound to the operator's own ClusterRole (config/rbac/role.yaml) less some
/// verbs, and a kubeconfig with its token: an operator that lacks exactly one permission.
/// Dispose removes the ClusterRole and its binding.
/// </summary>
internal sealed class LimitedCredentials : IAsyncDisposable
{
    private readonly ClusterFixture _cluster;
    private readonly string _name;

    private LimitedCredentials(ClusterFixture cluster, string name, string kubeconfig)
    {
        _cluster = cluster;
        _name = name;
        Kubeconfig = kubeconfig;
    }

    public string Kubeconfig { get; }

    /// <summary>The operator's rules, with <paramref name="verb"/> removed from the rule for <paramref name="resource"/>.</summary>
    public static async Task<LimitedCredentials> CreateAsync(ClusterFixture cluster, string ns, string resource, string verb)
    {
        var name = $"limited-{ns}";
        var role = new V1ClusterRole
        {
            Metadata = new V1ObjectMeta { Name = name },
            Rules = OperatorRules(cluster).Select(r => r.Resources.Contains(resource) ? new V1PolicyRule
            {
                ApiGroups = r.ApiGroups, Resources = r.Resources, Verbs = [.. r.Verbs.Where(v => v != verb)],
            } : r).Where(r => r.Verbs.Count > 0).ToList(),
        };
        await cluster.Client.RbacAuthorizationV1.CreateClusterRoleAsync(role);
        await cluster.Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "limited" } }, ns);
        await cluster.Client.RbacAuthorizationV1.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding
        {
            Metadata = new V1ObjectMeta { Name = name },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = name },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "limited", NamespaceProperty = ns }],
        });
        var token = await InstallTests.RunAsync("kubectl", "--kubeconfig", cluster.KubeconfigPath, "create", "token", "limited", "-n", ns);
        if (token.Code != 0) throw new InvalidOperationException(token.Output);
        return new LimitedCredentials(cluster, name, await TokenKubeconfigAsync(cluster, token.Stdout.Trim()));
    }

    public static List<V1PolicyRule> OperatorRules(ClusterFixture cluster) =>
        KubernetesYaml.Deserialize<V1ClusterRole>(File.ReadAllText(Path.Combine(cluster.RepoRoot, "config", "rbac", "role.yaml"))).Rules.ToList();

    /// <summary>A copy of the admin kubeconfig whose user is the given bearer token.</summary>
    public static async Task<string> TokenKubeconfigAsync(ClusterFixture cluster, string token)
    {
        var path = Path.Combine(Path.GetTempPath(), $"token-kubeconfig-{Guid.NewGuid():N}");
        var view = await InstallTests.RunAsync("kubectl", "--kubeconfig", cluster.KubeconfigPath, "config", "view", "--raw", "--minify", "--flatten");
        if (view.Code != 0) throw new InvalidOperationException(view.Output);
        await File.WriteAllTextAsync(path, view.Stdout);
        foreach (var args in new[] { new[] { "config", "set-credentials", "token-user", "--token", token }, ["config", "set-context", "--current", "--user", "token-user"] })
        {
            var r = await InstallTests.RunAsync("kubectl", ["--kubeconfig", path, .. args]);
            if (r.Code != 0) throw new InvalidOperationException(r.Output);
        }
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await _cluster.Client.RbacAuthorizationV1.DeleteClusterRoleBindingAsync(_name);
        await _cluster.Client.RbacAuthorizationV1.DeleteClusterRoleAsync(_name);
        File.Delete(Kubeconfig);
    }
}
