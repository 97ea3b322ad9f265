using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Planning;
using ResilienceOperator.Tests.Planning;

namespace ResilienceOperator.Tests.Kubernetes;

/// <summary>
/// A LIST decoded with the trimmed options caches exactly what one decoded whole and then trimmed
/// caches: the skipped fields are only ones the cache transform drops.
/// </summary>
public sealed class TrimmedDecodingTests
{
    private static readonly DateTime T = new(2026, 11, 30, 7, 0, 0, DateTimeKind.Utc);

    private static List<V1ManagedFieldsEntry> ManagedFields() =>
    [
        new V1ManagedFieldsEntry { Manager = "kube-controller-manager", Operation = "Update", ApiVersion = "v1", Time = T, FieldsType = "FieldsV1",
            FieldsV1 = JsonDocument.Parse("""{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{}}}""").RootElement },
    ];

    /// <summary>A container as the API server returns it: defaults filled in, ports, a probe, resources and env.</summary>
    private static V1Container Container() => new()
    {
        Name = "app", Image = "registry.example/checkout:1.2.3", ImagePullPolicy = "IfNotPresent",
        Env = [new V1EnvVar { Name = "MODE", Value = "primary" }],
        Ports = [new V1ContainerPort { ContainerPort = 8080, Protocol = "TCP" }],
        ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/healthz", Port = "8080" }, PeriodSeconds = 5 },
        Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m") } },
        TerminationMessagePath = "/dev/termination-log",
    };

    private static V1PodSpec PodSpec(bool gate) => new()
    {
        Containers = [Container()], NodeName = "sim-0", DnsPolicy = "ClusterFirst", SchedulerName = "default-scheduler",
        Tolerations = [new V1Toleration { Key = "node.kubernetes.io/not-ready", OperatorProperty = "Exists", Effect = "NoExecute", TolerationSeconds = 300 }],
        ReadinessGates = gate ? [new V1PodReadinessGate { ConditionType = PodConditions.Healthy }] : null,
    };

    private static V1Pod Pod(string name, bool gate) => new()
    {
        ApiVersion = "v1", Kind = "Pod",
        Metadata = new V1ObjectMeta
        {
            Name = name, NamespaceProperty = "shop", GenerateName = "checkout-5d9c7-", Labels = new Dictionary<string, string> { ["app"] = "checkout" },
            OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = "checkout-5d9c7", Uid = "u1" }],
            ManagedFields = ManagedFields(), ResourceVersion = "42",
        },
        Spec = PodSpec(gate),
        Status = new V1PodStatus
        {
            Phase = "Running", PodIP = "127.1.0.7", HostIP = "127.0.0.1", QosClass = "Burstable", StartTime = T,
            PodIPs = [new V1PodIP { Ip = "127.1.0.7" }],
            Conditions =
            [
                new V1PodCondition { Type = "Ready", Status = "True", LastTransitionTime = T },
                new V1PodCondition { Type = "ContainersReady", Status = "True", LastTransitionTime = T },
                new V1PodCondition { Type = "PodScheduled", Status = "True", LastTransitionTime = T },
            ],
            ContainerStatuses =
            [
                new V1ContainerStatus { Name = "app", Ready = true, Image = "registry.example/checkout:1.2.3", ImageID = "sha256:1", RestartCount = 0,
                    State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = T } } },
            ],
        },
    };

    private static V1Deployment Deployment() => new()
    {
        ApiVersion = "apps/v1", Kind = "Deployment",
        Metadata = new V1ObjectMeta
        {
            Name = "checkout", NamespaceProperty = "shop", ManagedFields = ManagedFields(), Generation = 2,
            Annotations = new Dictionary<string, string> { ["deployment.kubernetes.io/revision"] = "1", [Annotations.Drill] = "d1" },
        },
        Spec = new V1DeploymentSpec
        {
            Replicas = 2, Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "checkout" } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "checkout" } }, Spec = PodSpec(true),
            },
            Strategy = new V1DeploymentStrategy { Type = "RollingUpdate" },
        },
        Status = new V1DeploymentStatus
        {
            Replicas = 2, ReadyReplicas = 2, AvailableReplicas = 2, ObservedGeneration = 2,
            Conditions = [new V1DeploymentCondition { Type = "Available", Status = "True", Message = "Deployment has minimum availability." }],
        },
    };

    private static V1Service Service() => new()
    {
        ApiVersion = "v1", Kind = "Service",
        Metadata = new V1ObjectMeta { Name = "checkout", NamespaceProperty = "shop", ManagedFields = ManagedFields() },
        Spec = new V1ServiceSpec
        {
            Selector = new Dictionary<string, string> { ["app"] = "checkout" }, ClusterIP = "10.96.0.12", Type = "ClusterIP",
            Ports = [new V1ServicePort { Port = 80, TargetPort = 8080, Protocol = "TCP" }],
        },
        Status = new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus() },
    };

    /// <summary>A policy's backup Job template is a pod template too: it must keep its containers.</summary>
    private static ResiliencePolicy Policy()
    {
        var p = new PolicyBuilder().Policy;
        p.Metadata.ManagedFields = ManagedFields();
        p.Spec.Backup = new BackupSpec { Schedule = "0 * * * *", Template = new V1PodTemplateSpec { Spec = PodSpec(false) } };
        return p;
    }

    private static string Json(object o) => KubernetesJson.Serialize(o);

    /// <summary>The objects as a LIST response, decoded and trimmed item by item with <paramref name="options"/>.</summary>
    private static async Task<IList<T>> ListAsync<T>(IEnumerable<T> items, JsonSerializerOptions options) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var body = $$"""{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[{{string.Join(",", items.Select(Json))}}]}""";
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(body));
        return (await StreamingList.ReadAsync<T>(stream, CacheTransform.Apply, CancellationToken.None, options: options)).Items;
    }

    private static async Task AssertCachedTheSameAsync<T>(params T[] items) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var whole = await ListAsync(items, StreamingList.ClientOptions);
        var trimmed = await ListAsync(items, TrimmedDecoding.Options);
        Assert.Equal(whole.Select(Json), trimmed.Select(Json));
    }

    [Fact]
    public Task Pods_CachedTheSame() => AssertCachedTheSameAsync(Pod("checkout-a", gate: true), Pod("checkout-b", gate: false));

    [Fact]
    public Task Deployment_CachedTheSame() => AssertCachedTheSameAsync(Deployment());

    [Fact]
    public Task Service_CachedTheSame() => AssertCachedTheSameAsync(Service());

    [Fact]
    public async Task Policy_BackupTemplateKeepsItsContainers()
    {
        await AssertCachedTheSameAsync(Policy());
        var cached = (await ListAsync([Policy()], TrimmedDecoding.Options)).Single();
        Assert.Equal("registry.example/checkout:1.2.3", cached.Spec.Backup!.Template!.Spec.Containers.Single().Image);
    }

    [Fact]
    public void Decode_SkipsWhatTheCacheDrops()
    {
        var pod = JsonSerializer.Deserialize<V1Pod>(Json(Pod("checkout-a", gate: true)), TrimmedDecoding.Options)!;
        Assert.Null(pod.Metadata.ManagedFields);
        Assert.Empty(pod.Spec.Containers);
        Assert.Equal(PodConditions.Healthy, pod.Spec.ReadinessGates.Single().ConditionType);
        Assert.Null(pod.Status.ContainerStatuses);
        Assert.Equal("127.1.0.7", pod.Status.PodIP);
        var deployment = JsonSerializer.Deserialize<V1Deployment>(Json(Deployment()), TrimmedDecoding.Options)!;
        Assert.Null(deployment.Metadata.ManagedFields);
        Assert.Null(deployment.Status.Conditions);
        Assert.Equal("registry.example/checkout:1.2.3", deployment.Spec.Template.Spec.Containers.Single().Image);
    }
}
