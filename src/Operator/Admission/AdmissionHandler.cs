using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;

namespace ResilienceOperator.Admission;

/// <summary>
/// The validating admission webhook: an AdmissionReview (admission.k8s.io/v1 or v1beta1) in, the
/// same review with a response out. The rules are <see cref="SpecValidation"/>'s, the ones the
/// reconcilers report as InvalidSpec, so a spec the webhook lets through and one that reached the
/// cluster without it are judged alike. Pure: no cluster reads, so it answers in microseconds and
/// never depends on the API server.
/// <list type="bullet">
/// <item>Only CREATE and UPDATE are judged (the webhook configuration does not even send DELETE).</item>
/// <item>An object being deleted, and an UPDATE that leaves the spec as it was (finalizers,
/// annotations, labels), are always allowed: a rule added in a newer operator never blocks
/// removing a finalizer or a manual-failback annotation on an object created before it.</item>
/// <item>The spec of a ResilienceBackup, ResilienceRestore or ResilienceDrill that has started
/// (status.phase set) cannot change: a run is a record of what was done. This needs the old object,
/// so only the webhook can say it.</item>
/// </list>
/// The configuration registers it with <c>failurePolicy: Ignore</c> and <c>timeoutSeconds: 5</c>:
/// with Fail, an operator that is down would block every UPDATE, including removing the finalizer
/// of a policy deleted meanwhile; the reconcilers check the same rules anyway, so a spec that slips
/// past an unavailable webhook is still reported as InvalidSpec and never acted on. DELETE is not
/// sent at all. See docs/admission.md.
/// </summary>
internal static class AdmissionHandler
{
    /// <summary>URL path per kind, in the style of controller-runtime: /validate-group-version-kind.</summary>
    public static readonly IReadOnlyDictionary<string, string> Paths = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [ResiliencePolicy.KubeKind] = PathOf(ResiliencePolicy.KubeKind),
        [ResilienceBackup.KubeKind] = PathOf(ResilienceBackup.KubeKind),
        [ResilienceRestore.KubeKind] = PathOf(ResilienceRestore.KubeKind),
        [ResilienceDrill.KubeKind] = PathOf(ResilienceDrill.KubeKind),
    };

    public static string PathOf(string kind) => $"/validate-{GroupVersion.Group.Replace('.', '-')}-{GroupVersion.Version}-{kind.ToLowerInvariant()}";

    /// <summary>The AdmissionReview to send back for <paramref name="review"/>: uid echoed, allowed or denied naming the field.</summary>
    public static JsonObject Review(JsonNode? review)
    {
        var request = review?["request"];
        var uid = request?["uid"]?.GetValue<string>() ?? "";
        var (allowed, message) = request is null ? (false, "request: missing from the AdmissionReview") : Decide(request);
        var response = new JsonObject { ["uid"] = uid, ["allowed"] = allowed };
        if (!allowed)
            response["status"] = new JsonObject { ["code"] = 422, ["reason"] = "Invalid", ["message"] = message };
        return new JsonObject
        {
            ["apiVersion"] = review?["apiVersion"]?.GetValue<string>() ?? "admission.k8s.io/v1",
            ["kind"] = "AdmissionReview",
            ["response"] = response,
        };
    }

    /// <summary>Whether the request is allowed and, when not, why (every field that is wrong, joined by "; ").</summary>
    public static (bool Allowed, string? Message) Decide(JsonNode request)
    {
        var operation = request["operation"]?.GetValue<string>();
        if (operation is not ("CREATE" or "UPDATE")) return (true, null);
        var kind = request["kind"]?["kind"]?.GetValue<string>() ?? "";
        var obj = request["object"];
        var old = request["oldObject"];
        if (obj is null) return (false, "object: missing from the request");
        if (obj["metadata"]?["deletionTimestamp"] is not null) return (true, null);
        if (operation == "UPDATE" && old is not null && JsonNode.DeepEquals(old["spec"], obj["spec"])) return (true, null);
        if (operation == "UPDATE" && kind != ResiliencePolicy.KubeKind && old?["status"]?["phase"]?.GetValue<string>() is { Length: > 0 } phase)
            return (false, $"spec: a {kind} cannot change once it has started (status.phase {phase}); create a new {kind} instead");
        try
        {
            var errors = kind switch
            {
                ResiliencePolicy.KubeKind => SpecValidation.Policy(Read<ResiliencePolicy>(obj).Spec ?? new()),
                ResilienceBackup.KubeKind => One(SpecValidation.Backup(Read<ResilienceBackup>(obj).Spec ?? new())),
                ResilienceRestore.KubeKind => One(SpecValidation.Restore(Read<ResilienceRestore>(obj).Spec ?? new())),
                ResilienceDrill.KubeKind => One(SpecValidation.Drill(Read<ResilienceDrill>(obj).Spec ?? new())),
                _ => [$"kind: {kind} is not served by this webhook"],
            };
            return errors.Count == 0 ? (true, null) : (false, string.Join("; ", errors));
        }
        catch (JsonException e)
        {
            return (false, $"spec: cannot be read: {e.Message}");
        }
    }

    private static T Read<T>(JsonNode obj) => KubernetesJson.Deserialize<T>(obj.ToJsonString());

    private static IReadOnlyList<string> One(string? error) => error is null ? [] : [error];
}
