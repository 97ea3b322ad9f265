using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Planning;

namespace ResilienceOperator.Tests.Kubernetes;

/// <summary>
/// What the cache keeps of a Deployment and a StatefulSet: what decisions read (labels, selector, replicas, the pod
/// template's labels, readiness gates, topology spread constraints and container ports), not the rest of the pod
/// template, which a restore test reads from the API server.
/// </summary>
public sealed class CacheTransformTests
{
    private static Dictionary<string, string> Labels => new() { ["app"] = "checkout", ["track"] = "primary" };

    /// <summary>A pod template as real workloads have them: an app container with env, volume, probe and resources, and a sidecar.</summary>
    private static V1PodTemplateSpec Template() => new()
    {
        Metadata = new V1ObjectMeta { Labels = Labels, Annotations = new Dictionary<string, string> { ["checksum/config"] = "abc123" } },
        Spec = new V1PodSpec
        {
            Containers =
            [
                new V1Container
                {
                    Name = "app",
                    Image = "registry.example/checkout:1.2.3",
                    Env = [new V1EnvVar { Name = "DATABASE_URL", Value = "postgres://db:5432/checkout" }],
                    Ports = [new V1ContainerPort { Name = "http", ContainerPort = 8080, Protocol = "TCP" }],
                    ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/ready", Port = "8081" }, PeriodSeconds = 5 },
                    Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m") } },
                    VolumeMounts = [new V1VolumeMount { Name = "config", MountPath = "/etc/checkout" }],
                },
                new V1Container { Name = "log-shipper", Image = "registry.example/shipper:4", Args = ["--to", "logs:514"] },
            ],
            Volumes = [new V1Volume { Name = "config", ConfigMap = new V1ConfigMapVolumeSource { Name = "checkout-config" } }],
            SecurityContext = new V1PodSecurityContext { RunAsNonRoot = true },
            ServiceAccountName = "checkout",
            ReadinessGates = [new V1PodReadinessGate { ConditionType = PodConditions.Healthy }, new V1PodReadinessGate { ConditionType = "example.com/lb" }],
            TopologySpreadConstraints =
            [
                new V1TopologySpreadConstraint
                {
                    TopologyKey = "topology.kubernetes.io/zone", MaxSkew = 1, WhenUnsatisfiable = "ScheduleAnyway",
                    LabelSelector = new V1LabelSelector { MatchLabels = Labels },
                },
            ],
        },
    };

    private static V1ObjectMeta Metadata() => new()
    {
        Name = "checkout-primary", NamespaceProperty = "shop", ResourceVersion = "42", Labels = Labels,
        ManagedFields = [new V1ManagedFieldsEntry { Manager = "kubectl" }],
    };

    /// <summary>What the cache must still show of either kind's pod template.</summary>
    private static void AssertReadPartsKept(V1PodTemplateSpec template)
    {
        Assert.Equal(Labels, template.Metadata.Labels);
        Assert.Null(template.Metadata.Annotations);
        var spec = template.Spec;
        Assert.Equal([PodConditions.Healthy, "example.com/lb"], spec.ReadinessGates.Select(g => g.ConditionType));
        var spread = Assert.Single(spec.TopologySpreadConstraints);
        Assert.Equal(("topology.kubernetes.io/zone", 1, "ScheduleAnyway"), (spread.TopologyKey, spread.MaxSkew, spread.WhenUnsatisfiable));
        Assert.Equal(Labels, spread.LabelSelector.MatchLabels);
        // Of the containers only what a policy's HTTP health-check port is checked against: ports and the readiness probe's port.
        var app = Assert.Single(spec.Containers);
        Assert.Equal([8080], app.Ports.Select(p => p.ContainerPort));
        Assert.Equal("8081", app.ReadinessProbe.HttpGet.Port.Value);
        Assert.Null(app.Image);
        Assert.Null(app.Env);
        Assert.Null(app.Resources);
        Assert.Null(app.VolumeMounts);
        Assert.Null(app.ReadinessProbe.HttpGet.Path);
        Assert.Null(spec.Volumes);
        Assert.Null(spec.SecurityContext);
        Assert.Null(spec.ServiceAccountName);
    }

    [Fact]
    public void Deployment_KeepsLabelsSelectorReplicasGatesSpreadAndPorts_LosesContainersVolumesAndSecurityContext()
    {
        var d = CacheTransform.Apply(new V1Deployment
        {
            Metadata = Metadata(),
            Spec = new V1DeploymentSpec { Replicas = 3, Selector = new V1LabelSelector { MatchLabels = Labels }, Template = Template() },
            Status = new V1DeploymentStatus { ReadyReplicas = 2, Conditions = [new V1DeploymentCondition { Type = "Available", Status = "True" }] },
        });

        Assert.Equal(("checkout-primary", "shop", "42"), (d.Metadata.Name, d.Metadata.NamespaceProperty, d.Metadata.ResourceVersion));
        Assert.Equal(Labels, d.Metadata.Labels);
        Assert.Null(d.Metadata.ManagedFields);
        Assert.Equal(3, d.Spec.Replicas);
        Assert.Equal(Labels, d.Spec.Selector.MatchLabels);
        Assert.Equal(2, d.Status.ReadyReplicas);
        Assert.Null(d.Status.Conditions);
        AssertReadPartsKept(d.Spec.Template);
    }

    [Fact]
    public void Pods_ReadConditionsKeptByTypeAndStatus_SharedBetweenPodsThatAgree()
    {
        V1Pod Pod(string name, params (string Type, string Status)[] conditions) => CacheTransform.Apply(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop" },
            Status = new V1PodStatus
            {
                PodIP = "10.0.0.1",
                Conditions = [.. conditions.Select(c => new V1PodCondition { Type = c.Type, Status = c.Status, LastTransitionTime = DateTime.UtcNow })],
            },
        });

        var a = Pod("a", ("PodScheduled", "True"), ("Ready", "True"), (PodConditions.Healthy, "True"));
        var b = Pod("b", (PodConditions.Healthy, "True"), ("Ready", "True"));
        var c = Pod("c", ("Ready", "False"), ("ContainersReady", "True"), (PodConditions.Healthy, "False"));

        Assert.Same(a.Status.Conditions, b.Status.Conditions);
        Assert.Equal([("Ready", "True"), (PodConditions.Healthy, "True")], a.Status.Conditions.Select(x => (x.Type, x.Status)));
        Assert.Equal([("Ready", "False"), ("ContainersReady", "True"), (PodConditions.Healthy, "False")], c.Status.Conditions.Select(x => (x.Type, x.Status)));
        Assert.Null(c.Status.Conditions[0].LastTransitionTime);
    }

    [Fact]
    public void Service_KeepsItsSelectorAndTheOperatorsAnnotations_LosesPortsAndIPs()
    {
        var svc = CacheTransform.Apply(new V1Service
        {
            Metadata = new V1ObjectMeta
            {
                Name = "checkout", NamespaceProperty = "shop",
                Annotations = new Dictionary<string, string> { [Annotations.SteeredBy] = "checkout", ["meta.helm.sh/release-name"] = "shop" },
            },
            Spec = new V1ServiceSpec
            {
                Selector = Labels, ClusterIP = "10.0.0.10", ClusterIPs = ["10.0.0.10"], Type = "ClusterIP",
                Ports = [new V1ServicePort { Port = 80, TargetPort = 8080 }],
            },
            Status = new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus() },
        });

        Assert.Equal(Labels, svc.Spec.Selector);
        Assert.Equal(new Dictionary<string, string> { [Annotations.SteeredBy] = "checkout" }, svc.Metadata.Annotations);
        Assert.Null(svc.Spec.Ports);
        Assert.Null(svc.Spec.ClusterIP);
        Assert.Null(svc.Status);
    }

    [Fact]
    public void Deployments_AlikeOnceTrimmed_ShareOnePodSpec_OthersAndThoseWithSpreadKeepTheirOwn()
    {
        V1Deployment Deployment(string name, int port, bool spread = false)
        {
            var template = Template();
            if (!spread) template.Spec.TopologySpreadConstraints = null;
            template.Spec.Containers[0].Ports[0].ContainerPort = port;
            template.Spec.Containers[0].Image = "registry.example/" + name;
            var meta = Metadata();
            meta.Name = name;
            return CacheTransform.Apply(new V1Deployment
            {
                Metadata = meta,
                Spec = new V1DeploymentSpec
                {
                    Selector = new V1LabelSelector { MatchLabels = Labels }, Template = template,
                    Strategy = new V1DeploymentStrategy { Type = "RollingUpdate" },
                },
            });
        }

        var (a, b, c) = (Deployment("cart", 8080), Deployment("checkout", 8080), Deployment("search", 9090));
        var (d, e) = (Deployment("spread-1", 8080, spread: true), Deployment("spread-2", 8080, spread: true));

        Assert.Same(a.Spec.Template.Spec, b.Spec.Template.Spec);
        Assert.NotSame(a.Spec.Template.Spec, c.Spec.Template.Spec);
        // Spread constraints are kept as read, in a spec of the template's own.
        Assert.NotSame(d.Spec.Template.Spec, e.Spec.Template.Spec);
        Assert.Single(d.Spec.Template.Spec.TopologySpreadConstraints);
        Assert.Equal([9090], c.Spec.Template.Spec.Containers.Single().Ports.Select(p => p.ContainerPort));
        Assert.Null(a.Spec.Strategy);
    }

    [Fact]
    public void StatefulSet_KeepsLabelsSelectorReplicasGatesSpreadAndPorts_LosesContainersAndClaimTemplates()
    {
        var s = CacheTransform.Apply(new V1StatefulSet
        {
            Metadata = Metadata(),
            Spec = new V1StatefulSetSpec
            {
                Replicas = 2,
                Selector = new V1LabelSelector { MatchLabels = Labels },
                Template = Template(),
                ServiceName = "checkout-headless",
                PodManagementPolicy = "Parallel",
                VolumeClaimTemplates =
                [
                    new V1PersistentVolumeClaim
                    {
                        Metadata = new V1ObjectMeta { Name = "data" },
                        Spec = new V1PersistentVolumeClaimSpec
                        {
                            AccessModes = ["ReadWriteOnce"],
                            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
                        },
                    },
                ],
            },
            Status = new V1StatefulSetStatus { ReadyReplicas = 1, Replicas = 2, Conditions = [new V1StatefulSetCondition { Type = "X", Status = "True" }] },
        });

        Assert.Equal(Labels, s.Metadata.Labels);
        Assert.Equal(2, s.Spec.Replicas);
        Assert.Equal(Labels, s.Spec.Selector.MatchLabels);
        Assert.Null(s.Spec.VolumeClaimTemplates);
        Assert.Null(s.Spec.ServiceName);
        Assert.Null(s.Spec.PodManagementPolicy);
        Assert.Equal((1, 2), (s.Status.ReadyReplicas, s.Status.Replicas));
        Assert.Null(s.Status.Conditions);
        AssertReadPartsKept(s.Spec.Template);
        // The planners read a StatefulSet through its Deployment view: the same template.
        AssertReadPartsKept(Workloads.View(s).Spec.Template);
    }

    [Fact]
    public void Template_WithoutPortsGatesOrSpread_KeepsLabelsAndAnEmptyContainerList()
    {
        var d = CacheTransform.Apply(new V1Deployment
        {
            Metadata = Metadata(),
            Spec = new V1DeploymentSpec
            {
                Selector = new V1LabelSelector { MatchLabels = Labels },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = Labels },
                    Spec = new V1PodSpec { Containers = [new V1Container { Name = "worker", Image = "registry.example/worker:1" }] },
                },
            },
        });

        Assert.Equal(Labels, d.Spec.Template.Metadata.Labels);
        Assert.Empty(d.Spec.Template.Spec.Containers);
        Assert.Null(d.Spec.Template.Spec.ReadinessGates);
        Assert.Null(d.Spec.Template.Spec.TopologySpreadConstraints);
    }
}
