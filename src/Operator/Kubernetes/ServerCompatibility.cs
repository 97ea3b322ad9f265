using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;

namespace ResilienceOperator.Kubernetes;

/// <summary>
/// What the operator does differently for older API servers, in one place. Each member says which
/// Kubernetes versions need it; when the oldest supported version passes that, it can go.
/// </summary>
internal static class ServerCompatibility
{
    /// <summary>
    /// A status as it is sent and compared: without null members (the schema types every field, and
    /// null is neither a string nor an integer) and without empty strings.
    /// Empty strings: Kubernetes 1.20 turns "" in a JSON patch into null and then rejects the patch
    /// (1.21 and later accept ""). The wire form is also what "did the status change" compares, on every version.
    /// </summary>
    public static JsonNode WireForm<T>(T status) => WithoutNullsAndEmptyStrings(JsonNode.Parse(KubernetesJson.Serialize(status)))!;

    /// <summary>Removes null members and empty strings from every object in <paramref name="node"/>, in place (see <see cref="WireForm"/>).</summary>
    public static JsonNode? WithoutNullsAndEmptyStrings(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Where(kv => kv.Value is null || (kv.Value is JsonValue v && v.TryGetValue<string>(out var str) && str.Length == 0))
                    .Select(kv => kv.Key).ToList()) o.Remove(key);
                foreach (var (_, v) in o) WithoutNullsAndEmptyStrings(v);
                break;
            case JsonArray a:
                foreach (var v in a) WithoutNullsAndEmptyStrings(v);
                break;
        }
        return node;
    }

    /// <summary>
    /// A JSON patch whose resourceVersion test failed, which is a conflict (the cache was stale): 422
    /// naming the test operation, or — Kubernetes 1.20 — the generic "error in our request" with no
    /// details, which that version answers for a failed test instead.
    /// </summary>
    public static bool IsFailedTest(HttpOperationException e) =>
        e.Response.StatusCode == (HttpStatusCode)422 && e.Response.Content is { } body
        && (body.Contains("test operation", StringComparison.OrdinalIgnoreCase)
            || (body.Contains("the server rejected our request due to an error in our request", StringComparison.Ordinal)
                && body.Contains("\"details\":{}", StringComparison.Ordinal)));

    /// <summary>
    /// The group/version PodDisruptionBudgets are served at: policy/v1 from Kubernetes 1.21,
    /// policy/v1beta1 before (1.20). Asked once at start; a namespaced operator that may not list
    /// them cluster-wide assumes policy/v1.
    /// </summary>
    public static async Task<string> PdbGroupVersionAsync(IKubernetes client, bool namespaced, CancellationToken ct)
    {
        try
        {
            await client.CustomObjects.ListClusterCustomObjectAsync("policy", "v1", "poddisruptionbudgets", limit: 1, cancellationToken: ct);
            return "policy/v1";
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return "policy/v1beta1";
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden && namespaced)
        {
            return "policy/v1";
        }
    }
}
