using System.Net;
using k8s;
using k8s.Autorest;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Kubernetes;

/// <summary>Reads of ResiliencePolicies outside the cache (a shard caches only its own, docs/sharding.md).</summary>
internal static class PolicyReader
{
    /// <summary>Whether the policy exists in the cluster at all, in any shard: one GET.</summary>
    public static async Task<bool> ExistsAsync(IKubernetes client, string ns, string name, CancellationToken ct)
    {
        try
        {
            using var response = await client.CustomObjects.GetNamespacedCustomObjectWithHttpMessagesAsync(
                GroupVersion.Group, GroupVersion.Version, ns, ResiliencePolicy.KubePluralName, name, cancellationToken: ct);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }
}
