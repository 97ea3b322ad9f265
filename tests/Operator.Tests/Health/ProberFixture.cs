using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ResilienceOperator.Entities;
using ResilienceOperator.Health;
using ResilienceOperator.Runtime;
using ResilienceOperator.Tests.Planning;

namespace ResilienceOperator.Tests.Health;

/// <summary>A prober over in-memory stores and a fake clock; enqueues and gate writes are recorded.</summary>
internal sealed class ProberFixture : IDisposable
{
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(PolicyBuilder.T0));
    public Store<ResiliencePolicy> Policies { get; } = new();
    public Store<V1Deployment> Deployments { get; } = new();
    public Store<V1Pod> Pods { get; } = WithLabelIndex();
    public List<ObjectKey> Enqueued { get; } = [];
    public RecordingGateWriter Gates { get; } = new();
    public HealthProber Prober { get; }

    /// <summary>How long the garbage collector has paused the process, as the prober reads it: tests move it.</summary>
    public TimeSpan RuntimePaused { get; set; }

    public ProberFixture(int maxConcurrentProbes = 64, int maxProbesPerTarget = 16)
    {
        Prober = new HealthProber(Policies, Deployments, Pods, k => { lock (Enqueued) Enqueued.Add(k); }, Gates, Time,
            NullLogger.Instance, maxConcurrentProbes, maxProbesPerTarget, runtimePauses: () => RuntimePaused);
    }

    private static Store<V1Pod> WithLabelIndex()
    {
        var pods = new Store<V1Pod>();
        LabelIndex.AddTo(pods);
        return pods;
    }

    public static ResiliencePolicy Policy(string name, params string[] targets) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop", Generation = 1, Uid = "uid-" + name },
        Spec = new ResiliencePolicySpec
        {
            Targets = [.. targets.Select((t, i) => new TargetSpec { Name = t, Priority = i * 10 })],
            Service = new ServiceReference { Name = name },
            HealthCheck = new HealthCheckSpec { Interval = "1s", Timeout = "500ms", Retries = 2 },
        },
    };

    /// <summary>A policy the reconciler has looked at and found valid (it resumes it in the prober).</summary>
    public void AddValidPolicy(ResiliencePolicy policy)
    {
        Policies.Upsert(policy);
        Prober.Resume(ObjectKey.Of(policy));
    }

    /// <summary>A Deployment with <paramref name="replicas"/> ready pods on <paramref name="ip"/>.</summary>
    public void AddTarget(string name, int replicas, string ip = "127.0.0.1", bool readinessGate = false)
    {
        Deployments.Upsert(PolicyBuilder.Deployment(name, replicas));
        for (var i = 0; i < replicas; i++) AddPod(name, $"{name}-{i}", ip, readinessGate);
    }

    public V1Pod AddPod(string app, string name, string ip, bool readinessGate = false, bool ready = true)
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop", Labels = new Dictionary<string, string> { ["app"] = app } },
            Spec = new V1PodSpec
            {
                Containers = [new V1Container { Name = "app" }],
                ReadinessGates = readinessGate ? [new V1PodReadinessGate { ConditionType = ResilienceOperator.Entities.PodConditions.Healthy }] : null,
            },
            Status = new V1PodStatus
            {
                PodIP = ip,
                Conditions =
                [
                    new V1PodCondition { Type = "ContainersReady", Status = ready ? "True" : "False" },
                    new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" },
                ],
            },
        };
        Pods.Upsert(pod);
        return pod;
    }

    /// <summary>Runs the prober loop for <paramref name="passes"/> passes of 50 ms of fake time, each awaited.</summary>
    public async Task RunAsync(int passes)
    {
        for (var i = 0; i < passes; i++)
        {
            await Task.WhenAll(Prober.Tick());
            Time.Advance(TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>Moves the clock on by <paramref name="ms"/>, runs one pass of the loop (awaited), and returns the checks started so far.</summary>
    public async Task<int> ChecksAfterAsync(int ms)
    {
        Time.Advance(TimeSpan.FromMilliseconds(ms));
        await Task.WhenAll(Prober.Tick());
        return Prober.ChecksStarted;
    }

    public void Dispose() => Prober.Dispose();
}

/// <summary>Records gate writes; throws while <see cref="Fail"/> is set.</summary>
internal sealed class RecordingGateWriter : IPodGateWriter
{
    public List<(string Pod, bool Healthy)> Writes { get; } = [];
    public Exception? Fail { get; set; }

    public Task SetAsync(V1Pod pod, bool healthy, CancellationToken ct)
    {
        lock (Writes) Writes.Add((pod.Metadata.Name, healthy));
        return Fail is { } e ? Task.FromException(e) : Task.CompletedTask;
    }
}
