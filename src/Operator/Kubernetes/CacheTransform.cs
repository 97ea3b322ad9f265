using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Kubernetes;

/// <summary>
/// What is cached is what decisions read (client-go's informer transform), applied to every
/// listed and watched object before the informer stores it. No cached object is ever written
/// back (writes are patches) and readers never mutate what they get, so nothing is lost by it and
/// strings may be shared between objects.
/// </summary>
internal static class CacheTransform
{
    /// <summary>Annotations the API server or kubectl keep for themselves, which no decision reads.</summary>
    private static readonly string[] UnreadAnnotations = ["kubectl.kubernetes.io/last-applied-configuration"];


    /// <summary>A pod's spec when it has no readiness gate of the operator's: one shared, never-mutated instance.</summary>
    private static readonly V1PodSpec NoGateSpec = new() { Containers = Array.Empty<V1Container>() };

    /// <summary>
    /// Strings that repeat across objects (namespaces, label keys and values, condition types,
    /// statuses and reasons), one instance each. Bounded: past the bound, strings are kept as read.
    /// </summary>
    internal static readonly StringPool Strings = new(100_000);

    public static T Apply<T>(T obj) where T : IKubernetesObject<V1ObjectMeta>
    {
        if (obj.Metadata is not { } meta) return obj;
        meta.ManagedFields = null;
        if (meta.Annotations is { Count: > 0 } annotations)
            foreach (var key in UnreadAnnotations) annotations.Remove(key);
        obj.Kind = Strings.Get(obj.Kind);
        obj.ApiVersion = Strings.Get(obj.ApiVersion);
        switch (obj)
        {
            case ResiliencePolicy p:
                StringSharing.Share(p, Strings, [p.Metadata.Name, p.Spec?.Service?.Name ?? p.Metadata.Name, .. (p.Spec?.Targets ?? []).Select(t => t.Name)]);
                break;
            case ResilienceBackup or ResilienceRestore or ResilienceDrill:
                StringSharing.Share(obj, Strings, [meta.Name]);
                break;
            case V1Pod pod: TrimPod(pod); break;
            // Workload status conditions: nothing reads them.
            case V1Deployment d:
                if (d.Status is { } ds) ds.Conditions = null;
                // Read: replicas, selector and template; the update strategy and the rest go.
                if (d.Spec is { } dspec) d.Spec = new V1DeploymentSpec { Replicas = dspec.Replicas, Selector = dspec.Selector, Template = dspec.Template };
                Share(d.Spec?.Selector);
                TrimTemplate(d.Spec?.Template);
                break;
            case V1StatefulSet s:
                if (s.Status is { } ss) ss.Conditions = null;
                // Read: replicas, selector and template (through Workloads.View). The rest (volumeClaimTemplates,
                // serviceName, update strategy, ...) only a restore test's scratch copy needs: it reads the target whole.
                if (s.Spec is { } spec) s.Spec = new V1StatefulSetSpec { Replicas = spec.Replicas, Selector = spec.Selector, Template = spec.Template };
                Share(s.Spec?.Selector);
                TrimTemplate(s.Spec?.Template);
                break;
            case V1Service svc:
                // Read: the selector (the operator steers traffic by it). Ports, IPs and the status go.
                svc.Spec = new V1ServiceSpec { Selector = svc.Spec?.Selector is { Count: > 0 } selector ? Share(selector) : null };
                svc.Status = null;
                break;
        }
        if (obj is V1Deployment or V1StatefulSet or V1Service) KeepOwnAnnotations(meta);
        if (meta.Finalizers is { Count: > 0 } finalizers)
            for (var i = 0; i < finalizers.Count; i++) finalizers[i] = Strings.Get(finalizers[i])!;
        Share(meta);
        return obj;
    }

    /// <summary>
    /// Pods are the most numerous objects cached and the largest (containers, volumes, env,
    /// per-container status): the operator reads only a pod's name, labels, deletion, readiness
    /// gate, IP and the type and status of its readiness conditions (health checks, readiness
    /// gates, drills). The rest goes, and what is left of the spec and the conditions is one shared
    /// instance per shape.
    /// </summary>
    private static void TrimPod(V1Pod pod)
    {
        pod.Metadata.Annotations = null;
        pod.Metadata.OwnerReferences = null;
        pod.Metadata.GenerateName = null;
        pod.Spec = pod.Spec?.ReadinessGates?.Any(g => g.ConditionType == PodConditions.Healthy) == true ? GateSpec : NoGateSpec;
        if (pod.Status is not { } s) return;
        pod.Status = new V1PodStatus { PodIP = s.PodIP, Conditions = SharedConditions(s.Conditions) };
    }

    /// <summary>A pod's spec with the operator's readiness gate: one shared, never-mutated instance.</summary>
    private static readonly V1PodSpec GateSpec = new()
    {
        Containers = Array.Empty<V1Container>(), ReadinessGates = [new V1PodReadinessGate { ConditionType = PodConditions.Healthy }],
    };

    /// <summary>The pod conditions health checks, readiness gates and drills read (their type and status only).</summary>
    private static readonly string[] ReadPodConditionTypes = ["Ready", "ContainersReady", PodConditions.Healthy];
    private static readonly string[] ConditionStatuses = ["True", "False", "Unknown"];

    /// <summary>The read conditions, one list per combination, by <see cref="ConditionsCode"/>.</summary>
    private static readonly IList<V1PodCondition>?[] PodConditionSets = new IList<V1PodCondition>?[1 << (2 * 3)];

    private static IList<V1PodCondition>? SharedConditions(IList<V1PodCondition>? conditions)
    {
        if (conditions is null) return null;
        var code = ConditionsCode(conditions);
        if (Volatile.Read(ref PodConditionSets[code]) is { } shared) return shared;
        var made = new List<V1PodCondition>();
        for (var t = 0; t < ReadPodConditionTypes.Length; t++)
            if ((code >> (2 * t) & 3) is var status and > 0)
                made.Add(new V1PodCondition { Type = ReadPodConditionTypes[t], Status = ConditionStatuses[status - 1] });
        return Interlocked.CompareExchange(ref PodConditionSets[code], made, null) ?? made;
    }

    /// <summary>Two bits per read condition type: 0 absent, else 1 + the index of its status (other statuses count as absent).</summary>
    private static int ConditionsCode(IList<V1PodCondition> conditions)
    {
        var code = 0;
        foreach (var c in conditions)
        {
            var t = Array.IndexOf(ReadPodConditionTypes, c.Type);
            var status = Array.IndexOf(ConditionStatuses, c.Status);
            if (t >= 0 && status >= 0) code |= (status + 1) << (2 * t);
        }
        return code;
    }

    /// <summary>
    /// A workload's or Service's annotations: only the operator's own (drill and shed marks, the
    /// steering record) and KEDA's pause are read; the rest (revision numbers, deployment tools'
    /// tracking data) go.
    /// </summary>
    private static void KeepOwnAnnotations(V1ObjectMeta meta)
    {
        if (meta.Annotations is not { Count: > 0 } annotations) return;
        var kept = annotations
            .Where(a => a.Key.StartsWith(GroupVersion.Group + "/", StringComparison.Ordinal) || a.Key == ScaledObject.PausedAnnotation).ToList();
        meta.Annotations = kept.Count == 0 ? null : kept.ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
    }

    /// <summary>
    /// A Deployment's or StatefulSet's pod template as decisions read it: its labels, its readiness gates (the
    /// operator's gate, and the others a template patch keeps), its topology spread constraints (spread), and of each
    /// container only the ports and the readiness probe's HTTP port (a policy's HTTP health check must name a port
    /// a container declares). Images, env, volumes, resources, security contexts go: a restore test's scratch copy
    /// reads its target whole from the API server.
    /// </summary>
    private static void TrimTemplate(V1PodTemplateSpec? template)
    {
        if (template is null) return;
        if (template.Metadata is { } meta)
            template.Metadata = new V1ObjectMeta { Labels = meta.Labels is { Count: > 0 } labels ? Share(labels) : null };
        var spec = template.Spec;
        var containers = spec?.Containers?.Where(c => c.Ports is { Count: > 0 } || c.ReadinessProbe?.HttpGet is not null).Select(TrimContainer).ToList();
        var trimmed = new V1PodSpec
        {
            Containers = containers is { Count: > 0 } ? containers : Array.Empty<V1Container>(),
            ReadinessGates = spec?.ReadinessGates,
            TopologySpreadConstraints = spec?.TopologySpreadConstraints,
        };
        // Trimmed, most templates look alike (one container, one port, the same gates): one instance each.
        // Spread constraints are rare and nested: a template with them keeps its own.
        if (trimmed.TopologySpreadConstraints is { Count: > 0 } || TemplateKey(trimmed) is not { } key)
        {
            template.Spec = trimmed;
            return;
        }
        template.Spec = TemplateSpecs.Get(key, trimmed);
    }

    /// <summary>What is left of a trimmed pod template spec as text (containers' names and ports, probe ports, gates).</summary>
    private static string? TemplateKey(V1PodSpec spec)
    {
        var key = new System.Text.StringBuilder();
        foreach (var c in spec.Containers)
        {
            key.Append(c.Name).Append(':');
            foreach (var p in c.Ports ?? []) key.Append(p.ContainerPort).Append(',');
            key.Append(':').Append(c.ReadinessProbe?.HttpGet?.Port?.Value).Append(';');
        }
        foreach (var g in spec.ReadinessGates ?? []) key.Append('|').Append(g.ConditionType);
        return key.ToString();
    }

    /// <summary>Trimmed pod template specs by <see cref="TemplateKey"/>, one instance each; bounded like <see cref="Strings"/>.</summary>
    private static readonly SharingPool<string, V1PodSpec> TemplateSpecs = new(10_000, StringComparer.Ordinal);

    private static V1Container TrimContainer(V1Container c) => new()
    {
        Name = Strings.Get(c.Name),
        Ports = c.Ports?.Select(p => new V1ContainerPort { ContainerPort = p.ContainerPort }).ToList(),
        ReadinessProbe = c.ReadinessProbe?.HttpGet is { } get ? new V1Probe { HttpGet = new V1HTTPGetAction { Port = get.Port } } : null,
    };

    private static void Share(V1ObjectMeta? meta)
    {
        if (meta is null) return;
        meta.NamespaceProperty = Strings.Get(meta.NamespaceProperty);
        if (meta.Labels is { Count: > 0 } labels) meta.Labels = Share(labels);
        if (meta.Annotations is { Count: > 0 } annotations)
        {
            var shared = new Dictionary<string, string>(annotations.Count, StringComparer.Ordinal);
            foreach (var (k, v) in annotations) shared[Strings.Get(k)!] = v;
            meta.Annotations = shared;
        }
    }

    private static void Share(V1LabelSelector? selector)
    {
        if (selector?.MatchLabels is { Count: > 0 } labels) selector.MatchLabels = Share(labels);
    }

    /// <summary>Label values that change with every rollout: pooled, they would fill the pool with dead strings.</summary>
    private static readonly HashSet<string> ChurningLabels = new(StringComparer.Ordinal) { "pod-template-hash", "controller-revision-hash" };

    /// <summary>
    /// Label maps that repeat (a Deployment's labels, its selector and its template's labels; the
    /// Service selecting the same pods; the pods of one ReplicaSet), one instance each. Bounded like
    /// <see cref="Strings"/>; a full pool starts over.
    /// </summary>
    private static readonly SharingPool<Dictionary<string, string>, Dictionary<string, string>> Maps = new(100_000, LabelMapComparer.Instance);

    /// <summary>A label map with pooled keys and values, the same instance as an equal map cached before.</summary>
    private static Dictionary<string, string> Share(IDictionary<string, string> labels)
    {
        var shared = new Dictionary<string, string>(labels.Count, StringComparer.Ordinal);
        foreach (var (k, v) in labels) shared[Strings.Get(k)!] = ChurningLabels.Contains(k) ? v : Strings.Get(v)!;
        return Maps.Get(shared, shared);
    }

    /// <summary>Label maps compared by their pairs.</summary>
    private sealed class LabelMapComparer : IEqualityComparer<Dictionary<string, string>>
    {
        public static readonly LabelMapComparer Instance = new();

        public bool Equals(Dictionary<string, string>? x, Dictionary<string, string>? y)
        {
            if (ReferenceEquals(x, y)) return true;
            if (x is null || y is null || x.Count != y.Count) return false;
            foreach (var (k, v) in x)
                if (!y.TryGetValue(k, out var w) || !string.Equals(v, w, StringComparison.Ordinal)) return false;
            return true;
        }

        public int GetHashCode(Dictionary<string, string> map)
        {
            // Independent of the order of the pairs.
            var hash = map.Count;
            foreach (var (k, v) in map) hash += HashCode.Combine(StringComparer.Ordinal.GetHashCode(k), StringComparer.Ordinal.GetHashCode(v));
            return hash;
        }
    }
}

/// <summary>
/// One shared value per distinct key, up to a bound. A full pool starts over, so values no object
/// holds any more (a deleted workload's name, an old status message) do not stay in it: objects
/// cached before keep the instances they have, and later ones share new ones.
/// </summary>
internal sealed class SharingPool<TKey, TValue>(int capacity, IEqualityComparer<TKey> comparer) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> _values = new(comparer);

    public int Count => _values.Count;

    /// <summary>The value pooled under <paramref name="key"/>, or <paramref name="value"/>, pooled from now on.</summary>
    public TValue Get(TKey key, TValue value)
    {
        if (_values.TryGetValue(key, out var pooled)) return pooled;
        if (_values.Count >= capacity) _values.Clear();
        return _values.GetOrAdd(key, value);
    }
}

/// <summary>One instance per distinct string (<see cref="SharingPool{TKey, TValue}"/>).</summary>
internal sealed class StringPool(int capacity)
{
    private readonly SharingPool<string, string> _strings = new(capacity, StringComparer.Ordinal);

    public int Count => _strings.Count;

    public string? Get(string? s) => string.IsNullOrEmpty(s) ? s : _strings.Get(s, s);
}
