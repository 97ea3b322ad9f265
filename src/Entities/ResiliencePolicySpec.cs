using System.Text.Json.Serialization;
using k8s.Models;

namespace ResilienceOperator.Entities;

/// <summary>How traffic is spread over the targets.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ResilienceMode>))]
public enum ResilienceMode
{
    /// <summary>All traffic goes to the highest-priority healthy target; the others stand by.</summary>
    ActivePassive,
    /// <summary>The Service spans every target; failing pods leave it through a readiness gate.</summary>
    ActiveActive,
}

/// <summary>What the operator does when a target fails its health checks.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FailAction>))]
public enum FailAction
{
    /// <summary>Move traffic to the next healthy target.</summary>
    Failover,
    /// <summary>Report only: conditions, events and metrics, no traffic change.</summary>
    None,
    /// <summary>Restore the failed target from the newest completed backup in place; traffic does not move.</summary>
    Restore,
    /// <summary>Move traffic to the next healthy target and restore the failed one; traffic returns only after the restore.</summary>
    FailoverAndRestore,
}

/// <summary>How traffic returns to a preferred target once it is healthy again.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FailbackMode>))]
public enum FailbackMode
{
    /// <summary>After `failbackDelay` of continuous health.</summary>
    Automatic,
    /// <summary>Only when a person asks for it with the `resilience.dev/failback` annotation.</summary>
    Manual,
}

/// <summary>The kind of workload a target is.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WorkloadKind>))]
public enum WorkloadKind
{
    /// <summary>An apps/v1 Deployment.</summary>
    Deployment,
    /// <summary>An apps/v1 StatefulSet (databases, queues, caches with state): promote and fence hooks apply to it.</summary>
    StatefulSet,
}

/// <summary>Whether traffic may move away from a failed target that has not been fenced.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FencingMode>))]
public enum FencingMode
{
    /// <summary>
    /// The fence hook runs when one is configured (and a failed or timed-out fence stops the failover);
    /// without one, traffic moves without fencing.
    /// </summary>
    BestEffort,
    /// <summary>
    /// Traffic never moves while the old target still has a ready pod and no fence has succeeded: without a
    /// fence hook, the failover waits until the old target has no ready pod.
    /// </summary>
    Required,
}

/// <summary>Whether the operator acts on the policy or only reports what it would do.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EnforcementMode>))]
public enum EnforcementMode
{
    /// <summary>Scale, steer traffic, create PDBs, backups and restores.</summary>
    Enforce,
    /// <summary>Compute every action, report it in status.plannedActions and DryRun events, change nothing outside the operator's own objects.</summary>
    DryRun,
}

/// <summary>The desired resilience of a group of Deployments or StatefulSets.</summary>
public sealed class ResiliencePolicySpec
{
    /// <summary>Enforce (act) or DryRun (report planned actions in status.plannedActions, change nothing). Lets a team adopt a policy safely.</summary>
    [SchemaDefault("Enforce")]
    public EnforcementMode Enforcement { get; set; } = EnforcementMode.Enforce;

    /// <summary>ActivePassive (one target serves, the others stand by) or ActiveActive (all serve).</summary>
    [SchemaDefault("ActivePassive")]
    public ResilienceMode Mode { get; set; } = ResilienceMode.ActivePassive;

    /// <summary>
    /// The service accepts writes on every target at once. Only then may StatefulSet targets run ActiveActive:
    /// a single-writer store served from two targets at once is split brain.
    /// </summary>
    public bool? MultiWriter { get; set; }

    /// <summary>The Deployments or StatefulSets of this namespace that form the failover group, with their priorities.</summary>
    [SchemaRequired]
    [SchemaLength(1, 16)]
    [ListMap("name")]
    public IList<TargetSpec> Targets { get; set; } = [];

    /// <summary>The Service whose traffic the operator steers.</summary>
    [SchemaRequired]
    public ServiceReference Service { get; set; } = new();

    /// <summary>Replica floors, standby replicas, disruption budgets and topology spread.</summary>
    public RedundancySpec? Redundancy { get; set; }

    /// <summary>How targets are judged healthy and what happens when one fails.</summary>
    public HealthCheckSpec? HealthCheck { get; set; }

    /// <summary>Failback and the circuit breaker that stops failover flapping.</summary>
    public FailoverSpec? Failover { get; set; }

    /// <summary>Recovery objectives: the operator checks the spec against them and reports what it measures.</summary>
    public ObjectivesSpec? Objectives { get; set; }

    /// <summary>Scheduled backups: the team's own backup command, run as a Job per location at every due time.</summary>
    public BackupSpec? Backup { get; set; }

    /// <summary>How a target is restored from a backup (with healthCheck.onFail Restore or FailoverAndRestore, or by hand).</summary>
    public RestoreSpec? Restore { get; set; }

    /// <summary>Scheduled chaos drills (game days) that prove the policy recovers within its RTO; absent = no scheduled drills.</summary>
    public DrillsSpec? Drills { get; set; }

    /// <summary>Graceful degradation: Deployments shed while ready capacity is low, and a fallback that serves when no target is healthy.</summary>
    public DegradationSpec? Degradation { get; set; }

    /// <summary>Webhooks told about failovers, failbacks, open circuits, restores, breached objectives and drill results.</summary>
    public NotificationsSpec? Notifications { get; set; }
}

/// <summary>Lose functionality progressively instead of all at once.</summary>
public sealed class DegradationSpec
{
    /// <summary>Degraded while the ready replicas of all targets are below this percentage of their total desired replicas.</summary>
    [SchemaRange(1, 100)]
    [SchemaDefault(50)]
    public int WhenReadyPercentBelow { get; set; } = 50;

    /// <summary>
    /// Non-critical Deployments of this namespace scaled to the given replicas while degraded; their previous replicas
    /// come back once the policy has been healthy for failover.failbackDelay.
    /// </summary>
    [SchemaLength(0, 32)]
    [ListMap("name")]
    public IList<ShedSpec> Shed { get; set; } = [];

    /// <summary>A Deployment of this namespace that receives the Service's traffic while no target is healthy.</summary>
    [SchemaLength(1, 253)]
    public string? Fallback { get; set; }
}

/// <summary>One Deployment shed while degraded.</summary>
public sealed class ShedSpec
{
    /// <summary>Deployment name (not one of the targets).</summary>
    [SchemaRequired]
    [SchemaLength(1, 253)]
    public string Name { get; set; } = "";

    /// <summary>Replicas while degraded.</summary>
    [SchemaRange(0, 1000)]
    public int Replicas { get; set; }
}

/// <summary>Recovery time and recovery point objectives.</summary>
public sealed class ObjectivesSpec
{
    /// <summary>Recovery time objective: from a failure detected to serving again. `healthCheck.interval` × `retries` must fit inside it.</summary>
    [SchemaPattern(DurationFormat.Pattern)]
    public string? Rto { get; set; }

    /// <summary>Recovery point objective: the greatest acceptable age of the newest good backup.</summary>
    [SchemaPattern(DurationFormat.Pattern)]
    public string? Rpo { get; set; }

    /// <summary>
    /// Which backups the RPO counts from: `Completed` (default) or `Verified` (only backups that passed a restore test,
    /// spec.backup.verify).
    /// </summary>
    public RpoFrom? RpoFrom { get; set; }
}

/// <summary>Which backups the RPO counts from.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RpoFrom>))]
public enum RpoFrom
{
    /// <summary>The newest completed backup.</summary>
    Completed,
    /// <summary>The newest backup that passed its restore test.</summary>
    Verified,
}

/// <summary>One Deployment or StatefulSet of the failover group.</summary>
public sealed class TargetSpec
{
    /// <summary>Name of a Deployment (or, with kind StatefulSet, a StatefulSet) in the policy's namespace.</summary>
    [SchemaRequired]
    [SchemaLength(1, 253)]
    public string Name { get; set; } = "";

    /// <summary>Deployment or StatefulSet.</summary>
    [SchemaDefault("Deployment")]
    public WorkloadKind Kind { get; set; } = WorkloadKind.Deployment;

    /// <summary>Lower is preferred; the healthy target with the lowest priority receives the traffic.</summary>
    [SchemaDefault(0)]
    [SchemaRange(0, 1000)]
    public int Priority { get; set; }
}

/// <summary>A Service in the policy's namespace.</summary>
public sealed class ServiceReference
{
    /// <summary>Name of the Service.</summary>
    [SchemaRequired]
    [SchemaLength(1, 63)]
    public string Name { get; set; } = "";
}

/// <summary>Replica floors and disruption protection.</summary>
public sealed class RedundancySpec
{
    /// <summary>Floor for every active target; the operator never scales a target below what its owner set.</summary>
    [SchemaRange(0, 1000)]
    public int? MinReplicas { get; set; }

    /// <summary>Replicas kept on passive targets (0 = cold standby, scaled up before traffic moves).</summary>
    [SchemaRange(0, 1000)]
    public int? StandbyReplicas { get; set; }

    /// <summary>One operator-owned PodDisruptionBudget per target.</summary>
    public PodDisruptionBudgetSpec? PodDisruptionBudget { get; set; }

    /// <summary>A topology spread constraint added to each target's pod template.</summary>
    public SpreadSpec? Spread { get; set; }
}

/// <summary>Settings of the operator-owned PodDisruptionBudgets.</summary>
public sealed class PodDisruptionBudgetSpec
{
    /// <summary>Pods of one target that a voluntary disruption may take down at once.</summary>
    [SchemaRequired]
    [SchemaRange(0, 1000)]
    public int MaxUnavailable { get; set; } = 1;
}

/// <summary>A topology spread constraint.</summary>
public sealed class SpreadSpec
{
    /// <summary>Node label that defines the topology domains.</summary>
    [SchemaDefault("kubernetes.io/hostname")]
    public string TopologyKey { get; set; } = "kubernetes.io/hostname";

    /// <summary>DoNotSchedule or ScheduleAnyway.</summary>
    [SchemaDefault("ScheduleAnyway")]
    [SchemaPattern("^(DoNotSchedule|ScheduleAnyway)$")]
    public string WhenUnsatisfiable { get; set; } = "ScheduleAnyway";

    /// <summary>Largest allowed difference of pod counts between domains.</summary>
    [SchemaDefault(1)]
    [SchemaRange(1, 100)]
    public int MaxSkew { get; set; } = 1;
}

/// <summary>Health checks of every target.</summary>
public sealed class HealthCheckSpec
{
    /// <summary>Time between checks (Go duration such as `5s`).</summary>
    [SchemaDefault("10s")]
    [SchemaPattern(DurationFormat.Pattern)]
    public string Interval { get; set; } = "10s";

    /// <summary>How long an HTTP or TCP probe may take.</summary>
    [SchemaDefault("3s")]
    [SchemaPattern(DurationFormat.Pattern)]
    public string Timeout { get; set; } = "3s";

    /// <summary>Consecutive failed checks before a target is unhealthy.</summary>
    [SchemaDefault(3)]
    [SchemaRange(1, 100)]
    public int Retries { get; set; } = 3;

    /// <summary>Consecutive good checks before an unhealthy target is healthy again.</summary>
    [SchemaDefault(1)]
    [SchemaRange(1, 100)]
    public int SuccessThreshold { get; set; } = 1;

    /// <summary>Ready pods, as a percentage of desired replicas, that a target needs to pass.</summary>
    [SchemaDefault(50)]
    [SchemaRange(1, 100)]
    public int MinReadyPercent { get; set; } = 50;

    /// <summary>Optional HTTP probe of every ready pod.</summary>
    public HttpProbeSpec? Http { get; set; }

    /// <summary>Optional TCP probe of every ready pod.</summary>
    public TcpProbeSpec? Tcp { get; set; }

    /// <summary>Failover, None, Restore (restore the failed target in place) or FailoverAndRestore.</summary>
    [SchemaDefault("Failover")]
    public FailAction OnFail { get; set; } = FailAction.Failover;
}

/// <summary>An HTTP GET probe: 2xx and 3xx answers pass.</summary>
public sealed class HttpProbeSpec
{
    /// <summary>Path to request.</summary>
    [SchemaDefault("/healthz")]
    [SchemaPattern("^/.*")]
    public string Path { get; set; } = "/healthz";

    /// <summary>Container port to request.</summary>
    [SchemaRequired]
    [SchemaRange(1, 65535)]
    public int Port { get; set; }
}

/// <summary>A TCP connect probe.</summary>
public sealed class TcpProbeSpec
{
    /// <summary>Container port to connect to.</summary>
    [SchemaRequired]
    [SchemaRange(1, 65535)]
    public int Port { get; set; }
}

/// <summary>Failback and circuit breaker.</summary>
public sealed class FailoverSpec
{
    /// <summary>Automatic, or Manual (annotate the policy with `resilience.dev/failback=now`).</summary>
    [SchemaDefault("Automatic")]
    public FailbackMode Failback { get; set; } = FailbackMode.Automatic;

    /// <summary>How long a preferred target must stay healthy before traffic returns to it.</summary>
    [SchemaDefault("60s")]
    [SchemaPattern(DurationFormat.Pattern)]
    public string FailbackDelay { get; set; } = "60s";

    /// <summary>Stops automatic failover after too many failovers in a window.</summary>
    public CircuitBreakerSpec? CircuitBreaker { get; set; }

    /// <summary>
    /// BestEffort (the fence hook runs when one is configured) or Required (traffic never moves while the old target
    /// still has a ready pod and no fence has succeeded).
    /// </summary>
    [SchemaDefault("BestEffort")]
    public FencingMode Fencing { get; set; } = FencingMode.BestEffort;

    /// <summary>
    /// Run before traffic moves, in this order: fence the target losing traffic, promote the one taking it, switch the Service.
    /// ActivePassive only: refused with mode ActiveActive (every target serves, none to fence or promote).
    /// </summary>
    public FailoverHooksSpec? Hooks { get; set; }
}

/// <summary>The fence and promote steps of a failover (and, the other way round, of a failback).</summary>
public sealed class FailoverHooksSpec
{
    /// <summary>Stops the target losing traffic from serving (for example from taking writes): a Job, or the built-in ScaleToZero.</summary>
    public FenceHookSpec? Fence { get; set; }

    /// <summary>Makes the target taking traffic the primary (for example promotes a database replica): a Job.</summary>
    public HookSpec? Promote { get; set; }
}

/// <summary>A hook run as a Job.</summary>
public class HookSpec
{
    /// <summary>
    /// The Job pod template of the hook. It gets `FROM_TARGET` (losing traffic), `TO_TARGET` (taking it) and
    /// `POLICY_NAME` in its environment; exit 0 is success.
    /// </summary>
    [PreserveUnknownFields]
    public V1PodTemplateSpec? Template { get; set; }

    /// <summary>How long the hook may take; a hook still running then has failed, and the failover stops.</summary>
    [SchemaDefault("5m")]
    [SchemaPattern(DurationFormat.Pattern)]
    public string Timeout { get; set; } = "5m";
}

/// <summary>The fence: a Job, or the built-in ScaleToZero.</summary>
public sealed class FenceHookSpec : HookSpec
{
    /// <summary>
    /// Built-in fence instead of a Job: scale the target losing traffic to 0 replicas; it counts as fenced once it has
    /// no ready pod. The operator then leaves it at 0 (no replica floor) until it is healthy again.
    /// </summary>
    public bool? ScaleToZero { get; set; }
}

/// <summary>Circuit breaker on automatic failovers.</summary>
public sealed class CircuitBreakerSpec
{
    /// <summary>Automatic failovers allowed inside `window`; one more opens the circuit.</summary>
    [SchemaDefault(3)]
    [SchemaRange(1, 100)]
    public int MaxFailovers { get; set; } = 3;

    /// <summary>Sliding window in which failovers are counted.</summary>
    [SchemaDefault("10m")]
    [SchemaPattern(DurationFormat.Pattern)]
    public string Window { get; set; } = "10m";

    /// <summary>How long the circuit stays open before one more failover is allowed (half-open).</summary>
    [SchemaDefault("15m")]
    [SchemaPattern(DurationFormat.Pattern)]
    public string Cooldown { get; set; } = "15m";
}
