using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;

namespace ResilienceOperator.Tests.Planning;

/// <summary>Builds observations for planner tests.</summary>
internal sealed class PolicyBuilder
{
    public static readonly DateTime T0 = new(2026, 11, 23, 3, 0, 0, DateTimeKind.Utc);

    public ResiliencePolicy Policy { get; } = new()
    {
        Metadata = new V1ObjectMeta { Name = "checkout", NamespaceProperty = "shop", Generation = 1, Uid = "uid-1", CreationTimestamp = T0 },
        Spec = new ResiliencePolicySpec
        {
            Targets = [new TargetSpec { Name = "primary", Priority = 0 }, new TargetSpec { Name = "standby", Priority = 10 }],
            Service = new ServiceReference { Name = "checkout" },
            Redundancy = new RedundancySpec { MinReplicas = 3, StandbyReplicas = 1 },
            HealthCheck = new HealthCheckSpec { Interval = "1s", Timeout = "500ms", Retries = 2 },
            Failover = new FailoverSpec { FailbackDelay = "10s" },
        },
    };

    public Dictionary<string, V1Deployment> Deployments { get; } = new()
    {
        ["primary"] = Deployment("primary", 3),
        ["standby"] = Deployment("standby", 1),
    };

    public V1Service Service { get; set; } = new()
    {
        Metadata = new V1ObjectMeta { Name = "checkout", NamespaceProperty = "shop", ResourceVersion = "1" },
        Spec = new V1ServiceSpec { Selector = new Dictionary<string, string> { ["app"] = "primary" } },
    };

    public Dictionary<string, TargetHealth> Health { get; } = new()
    {
        ["primary"] = Healthy(T0.AddMinutes(-10)),
        ["standby"] = Healthy(T0.AddMinutes(-10)),
    };

    public Dictionary<string, V1HorizontalPodAutoscaler> Hpas { get; } = [];

    /// <summary>KEDA ScaledObjects by the target they scale.</summary>
    public Dictionary<string, List<ScaledObject>> ScaledObjects { get; } = [];

    public List<PodDisruptionBudgetObject> OwnedPdbs { get; } = [];

    public List<PodGateAction> PodGates { get; } = [];

    /// <summary>The policy's failover hook Jobs as the cache holds them.</summary>
    public List<V1Job> HookJobs { get; } = [];

    /// <summary>What the prober's observer guard says (null: the operator trusts its view).</summary>
    public string? ObserverSuspect { get; set; }

    public static ScaledObject ScaledObjectFor(string target, bool paused = false, bool byOperator = false)
    {
        var annotations = new Dictionary<string, string>();
        if (paused) annotations[ScaledObject.PausedAnnotation] = "true";
        if (byOperator) annotations[Annotations.PausedByOperator] = "true";
        return new ScaledObject
        {
            Metadata = new V1ObjectMeta { Name = target + "-so", NamespaceProperty = "shop", Annotations = annotations },
            Spec = new ScaledObject.ScaledObjectSpec { ScaleTargetRef = new ScaledObject.ScaleTarget { Name = target } },
        };
    }

    public static V1Deployment Deployment(string name, int replicas) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop", ResourceVersion = "7", Generation = 1 },
        Spec = new V1DeploymentSpec
        {
            Replicas = replicas,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name } },
                Spec = new V1PodSpec { Containers = [new V1Container { Name = "app", Ports = [new V1ContainerPort { ContainerPort = 8080 }] }] },
            },
        },
    };

    public static TargetHealth Healthy(DateTime since) => new(true, 0, 5, null, since, 3, 3, "3/3 pods pass", false);

    public static TargetHealth Unhealthy(DateTime firstFailure, DateTime detected) => new(false, 2, 0, firstFailure, detected, 3, 0, "0/3 pods ready, need 2", false) { Failed = true };

    /// <summary>Not healthy yet, never failed: pods starting after a scale-up or a return from zero.</summary>
    public static TargetHealth Starting(DateTime firstCheck) => new(false, 2, 0, firstCheck, firstCheck, 3, 0, "0/3 pods ready, need 2", false);

    public static TargetHealth Cold(DateTime since) => new(false, 0, 0, null, since, 0, 0, "scaled to zero", true);

    public Observation Observe(DateTime now, string? claimedBy = null) =>
        new(Policy, Deployments, Service, Hpas, Health, claimedBy, now)
        {
            OwnedPdbs = OwnedPdbs,
            ScaledObjects = ScaledObjects.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<ScaledObject>)kv.Value),
            PodGates = PodGates,
            ObserverSuspect = ObserverSuspect,
            HookJobs = HookJobs,
        };

    /// <summary>
    /// Plans, then feeds the plan's status and (as the reconciler does, except in DryRun) its
    /// selector, scales and autoscaler pauses back as the next observation would see them.
    /// </summary>
    public Plan PlanAndApply(DateTime now)
    {
        var plan = PolicyPlanner.Plan(Observe(now));
        Policy.Status = plan.Status;
        if (plan.DryRun) return plan;
        if (plan.Selector is not null) Service.Spec.Selector = plan.Selector;
        foreach (var s in plan.Scale) Deployments[s.Target].Spec.Replicas = s.Replicas;
        foreach (var j in plan.HookJobs.Where(j => HookJobs.All(h => h.Metadata.Name != j.Metadata.Name))) HookJobs.Add(j);
        HookJobs.RemoveAll(j => plan.DeleteJobs.Contains(j.Metadata.Name));
        foreach (var a in plan.Autoscalers)
        {
            var so = ScaledObjects[a.Target].Single(x => x.Metadata.Name == a.Name);
            if (a.Pause) { so.Metadata.Annotations[ScaledObject.PausedAnnotation] = "true"; so.Metadata.Annotations[Annotations.PausedByOperator] = "true"; }
            else { so.Metadata.Annotations.Remove(ScaledObject.PausedAnnotation); so.Metadata.Annotations.Remove(Annotations.PausedByOperator); }
        }
        return plan;
    }
}
