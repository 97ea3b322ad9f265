using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Prometheus;
using ResilienceOperator.Entities;
using ResilienceOperator.Health;
using ResilienceOperator.Policy;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Kubernetes;

/// <summary>The API server refused a write for lack of permission.</summary>
internal sealed class ForbiddenException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Every write the operator makes. Patches carry the resourceVersion the decision was made on
/// where a stale cache could undo someone else's change (replicas, selectors), so a race is a
/// 409 and a requeue, never a blind overwrite. All writes use the field manager
/// <see cref="FieldManager"/>, which GitOps tools can ignore by name.
/// </summary>
internal sealed class ClusterWriter(IKubernetes client, string pdbGroupVersion, LeaseFence fence) : IPodGateWriter
{
    public const string FieldManager = "resilience-operator";

    private static readonly Counter Writes = Metrics.CreateCounter("resilience_api_writes_total",
        "Writes the operator made to the API server.", "resource", "verb");

    public static long TotalWrites => (long)Writes.GetAllLabelValues().Sum(l => Writes.WithLabels(l).Value);

    /// <summary>Writes so far by "verb resource", for the benchmark's breakdown.</summary>
    public static Dictionary<string, long> WritesByResource() =>
        Writes.GetAllLabelValues().ToDictionary(l => $"{l[1]} {l[0]}", l => (long)Writes.WithLabels(l).Value);

    public string PdbGroupVersion => pdbGroupVersion;

    /// <summary>
    /// Raises a Deployment's replicas by server-side apply: the operator's applied configuration is
    /// `spec.replicas` alone, so managedFields name <see cref="FieldManager"/> as its owner (what
    /// GitOps tools ignore by manager) and nothing else of the Deployment changes hands. Forced,
    /// because the floor must win over the manifest's count; guarded by the resourceVersion the
    /// decision was made on, so a count raised by someone meanwhile is never lowered (409, requeued).
    /// </summary>
    public Task<V1Deployment> ScaleAsync(V1Deployment d, int replicas, CancellationToken ct) => Guard("deployments", "patch", () =>
        client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = new JsonObject
            {
                ["name"] = d.Metadata.Name, ["namespace"] = d.Metadata.NamespaceProperty, ["resourceVersion"] = d.Metadata.ResourceVersion,
            },
            ["spec"] = new JsonObject { ["replicas"] = replicas },
        }.ToJsonString(), V1Patch.PatchType.ApplyPatch), d.Metadata.Name, d.Metadata.NamespaceProperty, fieldManager: FieldManager, force: true, cancellationToken: ct));

    /// <summary>
    /// Sheds a Deployment (replicas, and the previous count in <see cref="Annotations.ShedReplicas"/>)
    /// or gives it back (<paramref name="previous"/> null: replicas, and the annotation removed), in one
    /// merge patch so the count and the record of it never part.
    /// </summary>
    public Task<V1Deployment> ShedAsync(V1Deployment d, int replicas, int? previous, CancellationToken ct) => Guard("deployments", "patch", () =>
        client.AppsV1.PatchNamespacedDeploymentAsync(Merge(new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["resourceVersion"] = d.Metadata.ResourceVersion,
                ["annotations"] = new JsonObject
                {
                    [Annotations.ShedReplicas] = previous?.ToString(System.Globalization.CultureInfo.InvariantCulture),
                },
            },
            ["spec"] = new JsonObject { ["replicas"] = replicas },
        }), d.Metadata.Name, d.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct));

    public Task<V1HorizontalPodAutoscaler> SetHpaMinAsync(V1HorizontalPodAutoscaler hpa, int min, CancellationToken ct) => Guard("horizontalpodautoscalers", "patch", () =>
        client.AutoscalingV1.PatchNamespacedHorizontalPodAutoscalerAsync(Merge(new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = hpa.Metadata.ResourceVersion },
            ["spec"] = new JsonObject { ["minReplicas"] = min },
        }), hpa.Metadata.Name, hpa.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct));

    public Task<V1Deployment> PatchTemplateAsync(V1Deployment d, bool? readinessGate, SpreadSpec? spread, IDictionary<string, string> selector, CancellationToken ct)
    {
        var podSpec = new JsonObject();
        if (readinessGate is { } add)
        {
            var gates = (d.Spec.Template.Spec.ReadinessGates ?? []).Where(g => g.ConditionType != PodConditions.Healthy)
                .Select(g => (JsonNode)new JsonObject { ["conditionType"] = g.ConditionType }).ToList();
            if (add) gates.Add(new JsonObject { ["conditionType"] = PodConditions.Healthy });
            podSpec["readinessGates"] = new JsonArray([.. gates]);
        }
        if (spread is not null)
        {
            var list = JsonSerializer.SerializeToNode((d.Spec.Template.Spec.TopologySpreadConstraints ?? []).Select(c => JsonNode.Parse(KubernetesJson.Serialize(c))).ToList())!.AsArray();
            list.Add(new JsonObject
            {
                ["topologyKey"] = spread.TopologyKey, ["whenUnsatisfiable"] = spread.WhenUnsatisfiable, ["maxSkew"] = spread.MaxSkew,
                ["labelSelector"] = new JsonObject { ["matchLabels"] = JsonSerializer.SerializeToNode(selector) },
            });
            podSpec["topologySpreadConstraints"] = list;
        }
        return Guard("deployments", "patch", () => client.AppsV1.PatchNamespacedDeploymentAsync(Merge(new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = d.Metadata.ResourceVersion },
            ["spec"] = new JsonObject { ["template"] = new JsonObject { ["spec"] = podSpec } },
        }), d.Metadata.Name, d.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct));
    }

    /// <summary>
    /// Points the Service at exactly <paramref name="selector"/> (keys not in it are removed). The
    /// first time, the Service's own selector is saved in an annotation so deletion can put it back.
    /// </summary>
    public Task<V1Service> SteerServiceAsync(V1Service svc, IDictionary<string, string> selector, string policyName, CancellationToken ct)
    {
        var sel = new JsonObject();
        foreach (var (k, v) in selector) sel[k] = v;
        foreach (var k in svc.Spec.Selector?.Keys ?? []) if (!selector.ContainsKey(k)) sel[k] = null;
        var annotations = new JsonObject { [Annotations.SteeredBy] = policyName };
        if (svc.Metadata.Annotations?.ContainsKey(Annotations.OriginalSelector) != true)
            annotations[Annotations.OriginalSelector] = JsonSerializer.Serialize(svc.Spec.Selector ?? new Dictionary<string, string>());
        return Guard("services", "patch", () => client.CoreV1.PatchNamespacedServiceAsync(Merge(new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = svc.Metadata.ResourceVersion, ["annotations"] = annotations },
            ["spec"] = new JsonObject { ["selector"] = sel },
        }), svc.Metadata.Name, svc.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct));
    }

    /// <summary>Puts back the selector saved by <see cref="SteerServiceAsync"/> and drops our annotations.</summary>
    public async Task RestoreServiceAsync(V1Service svc, CancellationToken ct)
    {
        if (svc.Metadata.Annotations?.TryGetValue(Annotations.OriginalSelector, out var saved) != true) return;
        var original = JsonSerializer.Deserialize<Dictionary<string, string>>(saved!) ?? [];
        var sel = new JsonObject();
        foreach (var (k, v) in original) sel[k] = v;
        foreach (var k in svc.Spec.Selector?.Keys ?? []) if (!original.ContainsKey(k)) sel[k] = null;
        await Guard("services", "patch", () => client.CoreV1.PatchNamespacedServiceAsync(Merge(new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["resourceVersion"] = svc.Metadata.ResourceVersion,
                ["annotations"] = new JsonObject { [Annotations.OriginalSelector] = null, [Annotations.SteeredBy] = null },
            },
            ["spec"] = new JsonObject { ["selector"] = sel },
        }), svc.Metadata.Name, svc.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct));
    }

    public async Task ApplyPdbAsync(ResiliencePolicy owner, PdbAction pdb, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["apiVersion"] = pdbGroupVersion,
            ["kind"] = "PodDisruptionBudget",
            ["metadata"] = new JsonObject
            {
                ["name"] = pdb.Name,
                ["namespace"] = owner.Metadata.NamespaceProperty,
                ["labels"] = new JsonObject { [Labels.Policy] = owner.Metadata.Name, [Labels.Target] = pdb.Target },
                ["ownerReferences"] = new JsonArray(OwnerReference(owner)),
            },
            ["spec"] = new JsonObject
            {
                ["maxUnavailable"] = pdb.MaxUnavailable,
                ["selector"] = new JsonObject { ["matchLabels"] = JsonSerializer.SerializeToNode(pdb.Selector) },
            },
        };
        var version = pdbGroupVersion.Split('/')[1];
        await Guard("poddisruptionbudgets", "apply", () => client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(body.ToJsonString(), V1Patch.PatchType.ApplyPatch), "policy", version, owner.Metadata.NamespaceProperty,
            "poddisruptionbudgets", pdb.Name, fieldManager: FieldManager, force: true, cancellationToken: ct));
    }

    public Task DeletePdbAsync(string ns, string name, CancellationToken ct) => Guard("poddisruptionbudgets", "delete", async () =>
    {
        try { await client.CustomObjects.DeleteNamespacedCustomObjectAsync("policy", pdbGroupVersion.Split('/')[1], ns, "poddisruptionbudgets", name, cancellationToken: ct); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
        return 0;
    });

    /// <summary>Replaces the policy's status through the status subresource, guarded by resourceVersion.</summary>
    public async Task<ResiliencePolicy> PatchStatusAsync(ResiliencePolicy policy, ResiliencePolicyStatus status, CancellationToken ct)
    {
        var patch = new JsonArray(
            new JsonObject { ["op"] = "test", ["path"] = "/metadata/resourceVersion", ["value"] = policy.Metadata.ResourceVersion },
            new JsonObject { ["op"] = "add", ["path"] = "/status", ["value"] = WireForm(status) });
        return AsPolicy(await Guard("resiliencepolicies/status", "patch", () => client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch(patch.ToJsonString(), V1Patch.PatchType.JsonPatch), GroupVersion.Group, GroupVersion.Version,
            policy.Metadata.NamespaceProperty, ResiliencePolicy.KubePluralName, policy.Metadata.Name, fieldManager: FieldManager, cancellationToken: ct)));
    }

    private static ResiliencePolicy AsPolicy(object body) => KubernetesJson.Deserialize<ResiliencePolicy>(((JsonElement)body).GetRawText());

    /// <summary>
    /// The status as it is sent and compared: without null members (the schema types every field,
    /// and null is neither a string nor an integer) and without empty strings (a JSON patch on the
    /// 1.20 API server turns "" into null and then rejects it).
    /// </summary>
    internal static JsonNode WireForm(ResiliencePolicyStatus status) =>
        WithoutEmpty(JsonNode.Parse(KubernetesJson.Serialize(status)))!;

    /// <summary>The status of a backup or restore as it is sent and compared (see the policy's).</summary>
    internal static JsonNode WireForm(ResilienceRunStatus status) =>
        WithoutEmpty(JsonNode.Parse(KubernetesJson.Serialize(status)))!;

    internal static JsonNode? WithoutEmpty(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Where(kv => kv.Value is null || (kv.Value is JsonValue v && v.TryGetValue<string>(out var str) && str.Length == 0))
                    .Select(kv => kv.Key).ToList()) o.Remove(key);
                foreach (var (_, v) in o) WithoutEmpty(v);
                break;
            case JsonArray a:
                foreach (var v in a) WithoutEmpty(v);
                break;
        }
        return node;
    }

    public async Task<ResiliencePolicy> SetFinalizerAsync(ResiliencePolicy policy, bool present, CancellationToken ct)
    {
        var finalizers = (policy.Metadata.Finalizers ?? []).Where(f => f != Finalizers.Policy).ToList();
        if (present) finalizers.Add(Finalizers.Policy);
        return AsPolicy(await Guard("resiliencepolicies", "patch", () => client.CustomObjects.PatchNamespacedCustomObjectAsync(Merge(new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["resourceVersion"] = policy.Metadata.ResourceVersion,
                ["finalizers"] = new JsonArray([.. finalizers.Select(f => (JsonNode)JsonValue.Create(f)!)]),
            },
        }), GroupVersion.Group, GroupVersion.Version, policy.Metadata.NamespaceProperty, ResiliencePolicy.KubePluralName,
            policy.Metadata.Name, fieldManager: FieldManager, cancellationToken: ct)));
    }

    public async Task<ResiliencePolicy> RemoveAnnotationAsync(ResiliencePolicy policy, string annotation, CancellationToken ct) => AsPolicy(await Guard("resiliencepolicies", "patch", () =>
        client.CustomObjects.PatchNamespacedCustomObjectAsync(Merge(new JsonObject
        {
            ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [annotation] = null } },
        }), GroupVersion.Group, GroupVersion.Version, policy.Metadata.NamespaceProperty, ResiliencePolicy.KubePluralName,
            policy.Metadata.Name, fieldManager: FieldManager, cancellationToken: ct)));

    public async Task SetAsync(V1Pod pod, bool healthy, CancellationToken ct)
    {
        var patch = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["conditions"] = new JsonArray(new JsonObject
                {
                    ["type"] = PodConditions.Healthy, ["status"] = healthy ? "True" : "False",
                    ["lastTransitionTime"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
                    ["reason"] = healthy ? "ProbesPass" : "ProbesFail",
                }),
            },
        };
        await Guard("pods/status", "patch", () => client.CoreV1.PatchNamespacedPodStatusAsync(
            new V1Patch(patch.ToJsonString(), V1Patch.PatchType.StrategicMergePatch), pod.Metadata.Name, pod.Metadata.NamespaceProperty,
            fieldManager: FieldManager, cancellationToken: ct));
    }

    /// <summary>
    /// Pauses a KEDA ScaledObject (its pause annotation plus the operator's marker) or lifts the
    /// operator's pause (removes both), with a merge patch guarded by resourceVersion.
    /// </summary>
    public async Task<ScaledObject> SetScaledObjectPausedAsync(ScaledObject so, bool pause, CancellationToken ct)
    {
        var annotations = pause
            ? new JsonObject { [ScaledObject.PausedAnnotation] = "true", [Annotations.PausedByOperator] = "true" }
            : new JsonObject { [ScaledObject.PausedAnnotation] = null, [Annotations.PausedByOperator] = null };
        var body = await Guard(ScaledObject.Plural, "patch", () => client.CustomObjects.PatchNamespacedCustomObjectAsync(Merge(new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = so.Metadata.ResourceVersion, ["annotations"] = annotations },
        }), ScaledObject.Group, ScaledObject.Version, so.Metadata.NamespaceProperty, ScaledObject.Plural, so.Metadata.Name,
            fieldManager: FieldManager, cancellationToken: ct));
        return KubernetesJson.Deserialize<ScaledObject>(((JsonElement)body).GetRawText());
    }

    /// <summary>Creates a scheduled backup owned by the policy; null when it exists already (a repeated slot).</summary>
    public Task<ResilienceBackup?> CreateBackupAsync(ResiliencePolicy owner, BackupAction a, CancellationToken ct)
    {
        var body = new ResilienceBackup
        {
            Metadata = new V1ObjectMeta
            {
                Name = a.Name, NamespaceProperty = owner.Metadata.NamespaceProperty,
                Labels = new Dictionary<string, string> { [Labels.Policy] = owner.Metadata.Name },
            },
            Spec = new ResilienceBackupSpec { Policy = owner.Metadata.Name, Location = a.Location, Target = a.Target, ScheduledTime = a.Slot },
        };
        return CreateCustomAsync(owner, body, ResilienceBackup.KubePluralName, body.Metadata, ct);
    }

    /// <summary>Creates the restore of an incident, owned by the policy; null when it exists already.</summary>
    public Task<ResilienceRestore?> CreateRestoreAsync(ResiliencePolicy owner, RestoreAction a, CancellationToken ct)
    {
        var body = new ResilienceRestore
        {
            Metadata = new V1ObjectMeta
            {
                Name = a.Name, NamespaceProperty = owner.Metadata.NamespaceProperty,
                Labels = new Dictionary<string, string> { [Labels.Policy] = owner.Metadata.Name, [Labels.Incident] = a.Target },
            },
            Spec = new ResilienceRestoreSpec { Policy = owner.Metadata.Name, Backup = a.Backup, Target = a.Target },
        };
        return CreateCustomAsync(owner, body, ResilienceRestore.KubePluralName, body.Metadata, ct);
    }

    private async Task<T?> CreateCustomAsync<T>(ResiliencePolicy owner, T body, string plural, V1ObjectMeta meta, CancellationToken ct = default)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        meta.OwnerReferences = [OwnerRef(owner)];
        var json = JsonNode.Parse(KubernetesJson.Serialize(body))!.AsObject();
        json.Remove("status");
        return await Guard(plural, "create", async () =>
        {
            try
            {
                var created = await client.CustomObjects.CreateNamespacedCustomObjectAsync(json, GroupVersion.Group, GroupVersion.Version,
                    meta.NamespaceProperty, plural, fieldManager: FieldManager, cancellationToken: ct);
                return KubernetesJson.Deserialize<T>(((JsonElement)created).GetRawText());
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                return null; // AlreadyExists: the deterministic name was created before (by us, before a restart, or by another leader)
            }
        });
    }

    public Task DeleteBackupAsync(string ns, string name, CancellationToken ct) => Guard(ResilienceBackup.KubePluralName, "delete", async () =>
    {
        // Background propagation: the garbage collector then deletes the backup's Jobs and their pods.
        try
        {
            await client.CustomObjects.DeleteNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, ns, ResilienceBackup.KubePluralName, name,
                new V1DeleteOptions { PropagationPolicy = "Background" }, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
        return 0;
    });

    /// <summary>Creates a Job; null when it exists already (the attempt was started before a restart).</summary>
    public Task<V1Job?> CreateJobAsync(V1Job job, CancellationToken ct) => Guard("jobs", "create", async () =>
    {
        try { return (V1Job?)await client.BatchV1.CreateNamespacedJobAsync(job, job.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict) { return null; }
    });

    /// <summary>Replaces a backup's or restore's status through its status subresource, guarded by resourceVersion.</summary>
    public async Task<T> PatchRunStatusAsync<T>(T obj, string plural, ResilienceRunStatus status, CancellationToken ct)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var patch = new JsonArray(
            new JsonObject { ["op"] = "test", ["path"] = "/metadata/resourceVersion", ["value"] = obj.Metadata.ResourceVersion },
            new JsonObject { ["op"] = "add", ["path"] = "/status", ["value"] = WireForm(status) });
        var body = await Guard(plural + "/status", "patch", () => client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch(patch.ToJsonString(), V1Patch.PatchType.JsonPatch), GroupVersion.Group, GroupVersion.Version,
            obj.Metadata.NamespaceProperty, plural, obj.Metadata.Name, fieldManager: FieldManager, cancellationToken: ct));
        return KubernetesJson.Deserialize<T>(((JsonElement)body).GetRawText());
    }

    public static V1OwnerReference OwnerRef(IKubernetesObject<V1ObjectMeta> owner) => new()
    {
        ApiVersion = owner.ApiVersion, Kind = owner.Kind, Name = owner.Metadata.Name, Uid = owner.Metadata.Uid,
        Controller = true, BlockOwnerDeletion = true,
    };

    public static JsonObject OwnerReference(ResiliencePolicy owner) => new()
    {
        ["apiVersion"] = owner.ApiVersion, ["kind"] = owner.Kind, ["name"] = owner.Metadata.Name, ["uid"] = owner.Metadata.Uid,
        ["controller"] = true, ["blockOwnerDeletion"] = true,
    };

    internal static V1Patch Merge(JsonObject o) => new(o.ToJsonString(), V1Patch.PatchType.MergePatch);

    private Task<T> Guard<T>(string resource, string verb, Func<Task<T>> call) => Guard(fence, resource, verb, call);

    /// <summary>
    /// Every write: refused (<see cref="NotLeaderException"/>, nothing sent) unless the lease is
    /// provably held at this moment — checked here, right before the request, after every await
    /// of the decision — then counted, with conflicts turned into requeues.
    /// </summary>
    internal static async Task<T> Guard<T>(LeaseFence fence, string resource, string verb, Func<Task<T>> call)
    {
        fence.EnsureHeld();
        Writes.WithLabels(resource, verb).Inc();
        try { return await call(); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict || IsFailedTest(e))
        {
            throw new RequeueException($"conflict writing {resource}: the cache was stale");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            throw new ForbiddenException($"forbidden: {verb} {resource}: {Truncate(e.Response.Content)}", e);
        }
    }

    /// <summary>
    /// A JSON patch whose resourceVersion test failed: 422, and depending on the server version
    /// either naming the test operation or the generic "error in our request" with no causes.
    /// </summary>
    private static bool IsFailedTest(HttpOperationException e) =>
        e.Response.StatusCode == (HttpStatusCode)422 && e.Response.Content is { } body
        && (body.Contains("test operation", StringComparison.OrdinalIgnoreCase)
            || (body.Contains("the server rejected our request due to an error in our request", StringComparison.Ordinal) && body.Contains("\"details\":{}", StringComparison.Ordinal)));

    private static string Truncate(string? s) => s is null ? "" : s.Length > 300 ? s[..300] : s;
}
