using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Prometheus;
using ResilienceOperator.Entities;
using ResilienceOperator.Health;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Kubernetes;

/// <summary>The API server refused a write for lack of permission.</summary>
internal sealed class ForbiddenException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// The operator's writes to workloads (Deployments, StatefulSets, Services, HorizontalPodAutoscalers,
/// PodDisruptionBudgets, Jobs, pods, KEDA ScaledObjects), and the one read a write needs whole (a restore
/// test's target, which the cache keeps trimmed); its own resources are written through
/// <see cref="Resources"/>. Every write passes <see cref="Guard{T}(LeaseFence, string, string, Func{Task{T}})"/>.
/// Patches carry the resourceVersion the decision was made on where a stale cache could undo
/// someone else's change (replicas, selectors), so a race is a 409 and a requeue, never a blind
/// overwrite. All writes use the field manager <see cref="FieldManager"/>, which GitOps tools can
/// ignore by name.
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

    /// <summary>The writes to the operator's own resources.</summary>
    public CustomResourceWriter Resources { get; } = new(client, fence);

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
        }.ToJsonString(), V1Patch.PatchType.ApplyPatch), d.Metadata.Name, d.Metadata.NamespaceProperty,
            fieldManager: FieldManager, force: true, cancellationToken: ct));

    /// <summary>
    /// <see cref="ScaleAsync"/> for either kind of target (a StatefulSet comes as its <see cref="Workloads.View"/>):
    /// the same server-side apply of spec.replicas alone, guarded by the same resourceVersion.
    /// </summary>
    public async Task<IKubernetesObject<V1ObjectMeta>> ScaleWorkloadAsync(V1Deployment w, int replicas, CancellationToken ct)
    {
        if (Workloads.KindOf(w) == WorkloadKind.Deployment) return await ScaleAsync(w, replicas, ct);
        return await Guard("statefulsets", "patch", () => client.AppsV1.PatchNamespacedStatefulSetAsync(new V1Patch(new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "StatefulSet",
            ["metadata"] = new JsonObject
            {
                ["name"] = w.Metadata.Name, ["namespace"] = w.Metadata.NamespaceProperty, ["resourceVersion"] = w.Metadata.ResourceVersion,
            },
            ["spec"] = new JsonObject { ["replicas"] = replicas },
        }.ToJsonString(), V1Patch.PatchType.ApplyPatch), w.Metadata.Name, w.Metadata.NamespaceProperty,
            fieldManager: FieldManager, force: true, cancellationToken: ct));
    }

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

    public Task<V1HorizontalPodAutoscaler> SetHpaMinAsync(V1HorizontalPodAutoscaler hpa, int min, CancellationToken ct) =>
        Guard("horizontalpodautoscalers", "patch", () =>
            client.AutoscalingV1.PatchNamespacedHorizontalPodAutoscalerAsync(Merge(new JsonObject
            {
                ["metadata"] = new JsonObject { ["resourceVersion"] = hpa.Metadata.ResourceVersion },
                ["spec"] = new JsonObject { ["minReplicas"] = min },
            }), hpa.Metadata.Name, hpa.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct));

    public Task<V1Deployment> PatchTemplateAsync(
        V1Deployment d, bool? readinessGate, SpreadSpec? spread, IDictionary<string, string> selector, CancellationToken ct) =>
        Guard("deployments", "patch", () => client.AppsV1.PatchNamespacedDeploymentAsync(TemplatePatch(d, readinessGate, spread, selector),
            d.Metadata.Name, d.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct));

    /// <summary><see cref="PatchTemplateAsync"/> for either kind of target.</summary>
    public async Task<IKubernetesObject<V1ObjectMeta>> PatchWorkloadTemplateAsync(
        V1Deployment w, bool? readinessGate, SpreadSpec? spread, IDictionary<string, string> selector, CancellationToken ct)
    {
        if (Workloads.KindOf(w) == WorkloadKind.Deployment) return await PatchTemplateAsync(w, readinessGate, spread, selector, ct);
        return await Guard("statefulsets", "patch", () => client.AppsV1.PatchNamespacedStatefulSetAsync(TemplatePatch(w, readinessGate, spread, selector),
            w.Metadata.Name, w.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct));
    }

    private static V1Patch TemplatePatch(V1Deployment d, bool? readinessGate, SpreadSpec? spread, IDictionary<string, string> selector)
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
            var list = JsonSerializer.SerializeToNode((d.Spec.Template.Spec.TopologySpreadConstraints ?? [])
                .Select(c => JsonNode.Parse(KubernetesJson.Serialize(c))).ToList())!.AsArray();
            list.Add(new JsonObject
            {
                ["topologyKey"] = spread.TopologyKey, ["whenUnsatisfiable"] = spread.WhenUnsatisfiable, ["maxSkew"] = spread.MaxSkew,
                ["labelSelector"] = new JsonObject { ["matchLabels"] = JsonSerializer.SerializeToNode(selector) },
            });
            podSpec["topologySpreadConstraints"] = list;
        }
        return Merge(new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = d.Metadata.ResourceVersion },
            ["spec"] = new JsonObject { ["template"] = new JsonObject { ["spec"] = podSpec } },
        });
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

    public Task DeletePdbAsync(string ns, string name, CancellationToken ct) => Guard("poddisruptionbudgets", "delete", () =>
        GoneIsFine(() => client.CustomObjects.DeleteNamespacedCustomObjectAsync("policy", pdbGroupVersion.Split('/')[1], ns,
            "poddisruptionbudgets", name, cancellationToken: ct)));

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
                    ["reason"] = healthy ? Reasons.ProbesPass : Reasons.ProbesFail,
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
        return Resources.CreateAsync(owner, body, ct);
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
        return Resources.CreateAsync(owner, body, ct);
    }

    /// <summary>Deletes a backup; background propagation: the garbage collector then deletes its Jobs and their pods.</summary>
    public Task DeleteBackupAsync(string ns, string name, CancellationToken ct) =>
        Resources.DeleteAsync<ResilienceBackup>(ns, name, new V1DeleteOptions { PropagationPolicy = "Background" }, ct);

    /// <summary>Creates a Job; null when it exists already (the attempt was started before a restart).</summary>
    public Task<V1Job?> CreateJobAsync(V1Job job, CancellationToken ct) => Guard("jobs", "create", () =>
        ExistingIsNull(() => client.BatchV1.CreateNamespacedJobAsync(job, job.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct)));

    /// <summary>Deletes a failover hook Job of an earlier failover, with its pods (background propagation).</summary>
    public Task DeleteJobAsync(string ns, string name, CancellationToken ct) => Guard("jobs", "delete", () =>
        GoneIsFine(() => client.BatchV1.DeleteNamespacedJobAsync(name, ns, propagationPolicy: "Background", cancellationToken: ct)));

    public static JsonObject OwnerReference(ResiliencePolicy owner) => new()
    {
        ["apiVersion"] = owner.ApiVersion, ["kind"] = owner.Kind, ["name"] = owner.Metadata.Name, ["uid"] = owner.Metadata.Uid,
        ["controller"] = true, ["blockOwnerDeletion"] = true,
    };

    /// <summary>
    /// A restore test's target Deployment, read whole from the API server just before its scratch copy is made: the
    /// cache keeps only what decisions read of a pod template (<see cref="CacheTransform"/>). Null when it is gone (404);
    /// any other error fails the reconcile, which is retried. A read: neither fenced nor counted as a write.
    /// </summary>
    public Task<V1Deployment?> ReadDeploymentAsync(string ns, string name, CancellationToken ct) =>
        GoneIsNull(() => client.AppsV1.ReadNamespacedDeploymentAsync(name, ns, cancellationToken: ct));

    /// <summary><see cref="ReadDeploymentAsync"/> for a StatefulSet target (its volumeClaimTemplates are not cached either).</summary>
    public Task<V1StatefulSet?> ReadStatefulSetAsync(string ns, string name, CancellationToken ct) =>
        GoneIsNull(() => client.AppsV1.ReadNamespacedStatefulSetAsync(name, ns, cancellationToken: ct));

    /// <summary>
    /// Creates the scratch copy of a Deployment target for a restore test (a Deployment owned by the backup); null
    /// when it exists already (made before a restart).
    /// </summary>
    public Task<V1Deployment?> CreateScratchDeploymentAsync(V1Deployment copy, CancellationToken ct) => Guard("deployments", "create", () =>
        ExistingIsNull(() => client.AppsV1.CreateNamespacedDeploymentAsync(copy, copy.Metadata.NamespaceProperty, fieldManager: FieldManager,
            cancellationToken: ct)));

    /// <summary>Deletes the scratch copy of a restore test (its pods go with it); gone already is fine.</summary>
    public Task DeleteScratchDeploymentAsync(string ns, string name, CancellationToken ct) => Guard("deployments", "delete", () =>
        GoneIsFine(() => client.AppsV1.DeleteNamespacedDeploymentAsync(name, ns, new V1DeleteOptions { PropagationPolicy = "Background" },
            cancellationToken: ct)));

    /// <summary>
    /// Creates the scratch copy of a StatefulSet target for a restore test (a StatefulSet owned by the backup); null
    /// when it exists already (made before a restart).
    /// </summary>
    public Task<V1StatefulSet?> CreateScratchStatefulSetAsync(V1StatefulSet copy, CancellationToken ct) => Guard("statefulsets", "create", () =>
        ExistingIsNull(() => client.AppsV1.CreateNamespacedStatefulSetAsync(copy, copy.Metadata.NamespaceProperty, fieldManager: FieldManager,
            cancellationToken: ct)));

    /// <summary>
    /// Deletes the scratch StatefulSet of a restore test (its pods go with it), then the claims the StatefulSet
    /// controller made from its volumeClaimTemplates: deleting a StatefulSet leaves them. The claims are found by
    /// the scratch label the controller copies from the selector and by their names (<c>&lt;template&gt;-&lt;scratch&gt;-N</c>);
    /// gone already is fine. How many claims were deleted.
    /// </summary>
    public async Task<int> DeleteScratchStatefulSetAsync(string ns, string name, string backup, CancellationToken ct)
    {
        await Guard("statefulsets", "delete", () =>
            GoneIsFine(() => client.AppsV1.DeleteNamespacedStatefulSetAsync(name, ns, new V1DeleteOptions { PropagationPolicy = "Background" },
                cancellationToken: ct)));
        var claims = await Guard("persistentvolumeclaims", "list", () =>
            client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(ns, labelSelector: Verification.ScratchSelector(backup), cancellationToken: ct));
        var deleted = 0;
        foreach (var claim in claims.Items.Where(c => Verification.IsScratchClaim(c.Metadata.Name, name) && c.Metadata.DeletionTimestamp is null))
        {
            await Guard("persistentvolumeclaims", "delete", () =>
                GoneIsFine(() => client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(claim.Metadata.Name, ns, cancellationToken: ct)));
            deleted++;
        }
        return deleted;
    }

    internal static V1Patch Merge(JsonObject o) => new(o.ToJsonString(), V1Patch.PatchType.MergePatch);

    private Task<T> Guard<T>(string resource, string verb, Func<Task<T>> call) => Guard(fence, resource, verb, call);

    /// <summary>A create whose 409 AlreadyExists is an answer, not a conflict: null, the object is there already.</summary>
    internal static async Task<T?> ExistingIsNull<T>(Func<Task<T>> create) where T : class
    {
        try { return await create(); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict) { return null; }
    }

    /// <summary>A read whose 404 is an answer: null, the object is gone.</summary>
    internal static async Task<T?> GoneIsNull<T>(Func<Task<T>> read) where T : class
    {
        try { return await read(); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { return null; }
    }

    /// <summary>A delete whose 404 is success: the object is gone already.</summary>
    internal static async Task<int> GoneIsFine(Func<Task> delete)
    {
        try { await delete(); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
        return 0;
    }

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
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict || ServerCompatibility.IsFailedTest(e))
        {
            throw new RequeueException($"conflict writing {resource}: the cache was stale");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            throw new ForbiddenException($"forbidden: {verb} {resource}: {Truncate(e.Response.Content)}", e);
        }
    }

    private static string Truncate(string? s) => s is null ? "" : s.Length > 300 ? s[..300] : s;
}
