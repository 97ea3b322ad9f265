using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// Everything the planner may look at, read from the caches by the reconciler. <c>Deployments</c>
/// holds every workload the policy names, by name: Deployments, and StatefulSets seen through
/// <see cref="Workloads.View"/> (Kind StatefulSet).
/// </summary>
internal sealed record Observation(
    ResiliencePolicy Policy,
    IReadOnlyDictionary<string, V1Deployment> Deployments,
    V1Service? Service,
    IReadOnlyDictionary<string, V1HorizontalPodAutoscaler> Hpas,
    IReadOnlyDictionary<string, TargetHealth> Health,
    string? ServiceClaimedBy,
    DateTime Now)
{
    /// <summary>This policy's ResilienceBackups.</summary>
    public IReadOnlyList<ResilienceBackup> Backups { get; init; } = [];

    /// <summary>This policy's ResilienceRestores.</summary>
    public IReadOnlyList<ResilienceRestore> Restores { get; init; } = [];

    /// <summary>This policy's failover hook Jobs (fence and promote).</summary>
    public IReadOnlyList<V1Job> HookJobs { get; init; } = [];

    /// <summary>The PodDisruptionBudgets this policy owns.</summary>
    public IReadOnlyList<PodDisruptionBudgetObject> OwnedPdbs { get; init; } = [];

    /// <summary>KEDA ScaledObjects scaling the policy's targets, by target name (empty when KEDA is not installed).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ScaledObject>> ScaledObjects { get; init; } = new Dictionary<string, IReadOnlyList<ScaledObject>>();

    /// <summary>DryRun, ActiveActive: the readiness-gate conditions the prober would have written on pods.</summary>
    public IReadOnlyList<PodGateAction> PodGates { get; init; } = [];

    /// <summary>
    /// Set (with the share that caused it) while so many of all checked targets turned failing at
    /// once that the operator suspects its own view: failovers are held (see Health/ObserverGuard.cs).
    /// </summary>
    public string? ObserverSuspect { get; init; }
}

/// <summary>A pod's `resilience.dev/healthy` readiness-gate condition to set.</summary>
internal sealed record PodGateAction(string Pod, string Target, bool Healthy);

/// <summary>Pause (or lift the operator's pause of) a KEDA ScaledObject scaling a target.</summary>
internal sealed record AutoscalerPauseAction(string Name, string Target, bool Pause, string Reason);

/// <summary>A scheduled backup to create.</summary>
internal sealed record BackupAction(string Name, string Location, DateTime Slot, string? Target);

/// <summary>A restore test to ask for: the backup's status.verification set to Pending.</summary>
internal sealed record VerifyAction(string Backup, DateTime Slot, string RequestedBy);

/// <summary>A restore to create for an incident.</summary>
internal sealed record RestoreAction(string Name, string Target, string Backup, DateTime DetectedAt);

/// <summary>A change to a Deployment's replicas.</summary>
internal sealed record ScaleAction(string Target, int Replicas, string Reason);

/// <summary>
/// Shedding (<paramref name="PreviousReplicas"/> set: written to the shed annotation unless it is there
/// already) or giving back (<paramref name="PreviousReplicas"/> null: the annotation is removed) a
/// Deployment of spec.degradation.shed, with its replicas, in one patch.
/// </summary>
internal sealed record ShedAction(string Deployment, int Replicas, int? PreviousReplicas, string Reason);

/// <summary>A change to an HPA's minReplicas.</summary>
internal sealed record HpaAction(string HpaName, string Target, int MinReplicas);

/// <summary>A change to a Deployment's pod template.</summary>
internal sealed record TemplateAction(string Target, bool? ReadinessGate, SpreadSpec? Spread);

/// <summary>An operator-owned PodDisruptionBudget.</summary>
internal sealed record PdbAction(string Name, string Target, int MaxUnavailable, IDictionary<string, string> Selector);

/// <summary>
/// A fence or promote hook run that finished in this decision (<paramref name="Result"/>: succeeded, failed or timeout),
/// with how long it ran. The decision that finishes it records the next step (or the failure) in status, so a later
/// one never reports the same run again.
/// </summary>
internal sealed record HookRun(string Hook, string Result, double Seconds);

/// <summary>An event to record on the policy.</summary>
internal sealed record PlannedEvent(string Type, string Reason, string Message);

/// <summary>What the reconciler must apply, and the status to write.</summary>
internal sealed class Plan
{
    public List<ScaleAction> Scale { get; } = [];
    /// <summary>Deployments of spec.degradation.shed to shed or give back.</summary>
    public List<ShedAction> ShedActions { get; } = [];
    public List<HpaAction> HpaMinReplicas { get; } = [];
    public List<TemplateAction> Templates { get; } = [];
    public List<PdbAction> Pdbs { get; } = [];
    /// <summary>Operator-owned PodDisruptionBudgets the policy no longer wants.</summary>
    public List<string> DeletePdbs { get; } = [];
    /// <summary>The Service's new selector, or null to leave it.</summary>
    public IDictionary<string, string>? Selector { get; set; }
    /// <summary>Why the selector changes (the traffic decision), for the DryRun report.</summary>
    public string? SelectorReason { get; set; }
    /// <summary>KEDA ScaledObjects to pause while a failover is in progress, or to resume after.</summary>
    public List<AutoscalerPauseAction> Autoscalers { get; } = [];
    /// <summary>spec.enforcement is DryRun: nothing outside the policy is applied; status.plannedActions says what would be.</summary>
    public bool DryRun { get; set; }
    public List<PlannedEvent> Events { get; } = [];
    public ResiliencePolicyStatus Status { get; set; } = new();
    public TimeSpan? RequeueAfter { get; set; }
    public bool Invalid { get; set; }
    public bool ClearFailbackAnnotation { get; set; }
    public EffectiveSpec? Spec { get; set; }
    public List<BackupAction> CreateBackups { get; } = [];
    public List<string> DeleteBackups { get; } = [];
    public List<RestoreAction> CreateRestores { get; } = [];
    /// <summary>Restore tests to ask for (spec.backup.verify).</summary>
    public List<VerifyAction> VerifyBackups { get; } = [];
    /// <summary>Targets that must not receive traffic yet (a restore is under way), with the reason.</summary>
    public Dictionary<string, string> Gates { get; } = [];
    /// <summary>What is wrong with spec.backup, naming the field; failover carries on regardless.</summary>
    public string? BackupError { get; set; }
    /// <summary>What is wrong with spec.restore, naming the field.</summary>
    public string? RestoreError { get; set; }
    /// <summary>Failover hook Jobs to create (fence, promote); a 409 means the Job is there already.</summary>
    public List<V1Job> HookJobs { get; } = [];
    /// <summary>Hook Jobs of earlier failovers to delete.</summary>
    public List<string> DeleteJobs { get; } = [];
    /// <summary>Fence and promote hook runs that finished in this decision, to count once the status recording them is written.</summary>
    public List<HookRun> HookRuns { get; } = [];
    /// <summary>A failover held because the operator suspects its own view: why, with the share.</summary>
    public string? ObserverHold { get; set; }

    public void RequeueNoLaterThan(TimeSpan delay)
    {
        if (delay < TimeSpan.FromMilliseconds(50)) delay = TimeSpan.FromMilliseconds(50);
        if (RequeueAfter is null || delay < RequeueAfter) RequeueAfter = delay;
    }
}
