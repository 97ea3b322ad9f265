using k8s.Models;

namespace ResilienceOperator.Entities;

/// <summary>What the operator observed and did.</summary>
public sealed class ResiliencePolicyStatus
{
    /// <summary>The generation of the spec this status describes.</summary>
    public long? ObservedGeneration { get; set; }

    /// <summary>Targets receiving traffic.</summary>
    public IList<string>? ActiveTargets { get; set; }

    /// <summary>
    /// activeTargets as one comma-separated string (for example `east,west` in ActiveActive), for `kubectl get`'s
    /// Active column; absent when no target receives traffic.
    /// </summary>
    public string? ActiveTargetNames { get; set; }

    /// <summary>Health of every target.</summary>
    public IList<TargetStatus>? Targets { get; set; }

    /// <summary>Failover history and circuit state.</summary>
    public FailoverStatus? Failover { get; set; }

    /// <summary>Backup schedule: last and next due times, the newest completed backup.</summary>
    public BackupScheduleStatus? Backup { get; set; }

    /// <summary>Failed targets not yet recovered: when the failure was detected and the restore that repairs it.</summary>
    public IList<IncidentStatus>? Incidents { get; set; }

    /// <summary>Measured recovery point and recovery time, against spec.objectives.</summary>
    public ObjectivesStatus? Objectives { get; set; }

    /// <summary>The newest finished ResilienceDrill of the policy (written by the drill controller).</summary>
    public DrillRecord? LastDrill { get; set; }

    /// <summary>Graceful degradation: what is shed and whether the fallback serves.</summary>
    public DegradationStatus? Degradation { get; set; }

    /// <summary>DryRun only: the actions Enforce would have taken now, and why.</summary>
    public IList<PlannedAction>? PlannedActions { get; set; }

    /// <summary>Ready, Reconciling, Stalled, Healthy, Degraded, FailedOver, CircuitOpen, BackupsHealthy, ObjectivesMet (metav1.Condition).</summary>
    public IList<V1Condition>? Conditions { get; set; }
}

/// <summary>Where graceful degradation stands.</summary>
public sealed class DegradationStatus
{
    /// <summary>Whether the policy is degraded (ready capacity below spec.degradation.whenReadyPercentBelow, or no healthy target).</summary>
    public bool Active { get; set; }
    /// <summary>When degradation began.</summary>
    public DateTime? Since { get; set; }
    /// <summary>Ready replicas of all targets as a percentage of their desired replicas.</summary>
    public int? ReadyPercent { get; set; }
    /// <summary>Deployments currently shed, with the replicas they had before.</summary>
    public IList<ShedRecord>? Shed { get; set; }
    /// <summary>Whether the Service points at spec.degradation.fallback.</summary>
    public bool FallbackActive { get; set; }
    /// <summary>
    /// Start of the current run of health (not degraded, traffic on a healthy target); shed Deployments come back once
    /// it has lasted failover.failbackDelay.
    /// </summary>
    public DateTime? HealthySince { get; set; }
}

/// <summary>One shed Deployment.</summary>
public sealed class ShedRecord
{
    /// <summary>Deployment name.</summary>
    public string Name { get; set; } = "";
    /// <summary>Replicas before it was shed (restored afterwards).</summary>
    public int PreviousReplicas { get; set; }
}

/// <summary>An action Enforce would have taken (DryRun).</summary>
public sealed class PlannedAction
{
    /// <summary>
    /// Scale, SetHpaMinReplicas, PatchTemplate, ApplyPdb, DeletePdb, CreateBackup, DeleteBackup, CreateRestore, VerifyBackup,
    /// SteerService, SetPodCondition, PauseAutoscaler, ResumeAutoscaler, Shed, Unshed.
    /// </summary>
    public string Action { get; set; } = "";
    /// <summary>The object acted on, as Kind/name.</summary>
    public string Object { get; set; } = "";
    /// <summary>What would change, for example `replicas 0 -> 3` or `selector app=b`.</summary>
    public string Detail { get; set; } = "";
    /// <summary>Why.</summary>
    public string Reason { get; set; } = "";
}

/// <summary>Where the backup schedule stands.</summary>
public sealed class BackupScheduleStatus
{
    /// <summary>The due time of the newest scheduled backup.</summary>
    public DateTime? LastScheduleTime { get; set; }
    /// <summary>The next due time.</summary>
    public DateTime? NextScheduleTime { get; set; }
    /// <summary>Name of the newest completed ResilienceBackup.</summary>
    public string? LastCompleted { get; set; }
    /// <summary>When the newest completed backup completed.</summary>
    public DateTime? LastCompletedTime { get; set; }
    /// <summary>Name of the newest failed ResilienceBackup, if it is newer than the newest completed one.</summary>
    public string? LastFailed { get; set; }
    /// <summary>Name of the newest backup that passed its restore test.</summary>
    public string? LastVerified { get; set; }
    /// <summary>When the newest verified backup completed.</summary>
    public DateTime? LastVerifiedTime { get; set; }
    /// <summary>The due time of the newest scheduled restore test (spec.backup.verify.schedule).</summary>
    public DateTime? LastVerifyScheduleTime { get; set; }
}

/// <summary>One failed target, from detection until it serves again (restored, when the policy restores).</summary>
public sealed class IncidentStatus
{
    /// <summary>The failed target.</summary>
    public string Target { get; set; } = "";
    /// <summary>Whether the target received traffic when it failed (only then is an RTO measured).</summary>
    public bool Active { get; set; }
    /// <summary>The first failed check.</summary>
    public DateTime? FirstFailureTime { get; set; }
    /// <summary>When the failure was declared (healthCheck.retries failed checks).</summary>
    public DateTime DetectedAt { get; set; }
    /// <summary>When traffic went to a healthy target again.</summary>
    public DateTime? RecoveredAt { get; set; }
    /// <summary>The ResilienceRestore that repairs the target (deterministic from the incident).</summary>
    public string? Restore { get; set; }
    /// <summary>
    /// The backup that restore applies: the newest completed backup that is not suspect and completed before
    /// lastPassingCheck, a verified one preferred.
    /// </summary>
    public string? Backup { get; set; }
    /// <summary>The last passing health check of the target before it failed: the incident began after it.</summary>
    public DateTime? LastPassingCheck { get; set; }
    /// <summary>Why that backup was chosen, or why none was.</summary>
    public string? BackupReason { get; set; }
}

/// <summary>Measured objectives.</summary>
public sealed class ObjectivesStatus
{
    /// <summary>
    /// Seconds from the completion of the newest completed backup to measuredAt (frozen at that status write;
    /// `kubectl get`'s RPO column shows the live age of status.backup.lastCompletedTime).
    /// </summary>
    public double? RpoSeconds { get; set; }
    /// <summary>When rpoSeconds was measured.</summary>
    public DateTime? MeasuredAt { get; set; }
    /// <summary>
    /// Seconds from the last passing check of the last failed active target (its first failed check minus one
    /// healthCheck.interval, the same start as failover.last.detectionSeconds) to serving again.
    /// </summary>
    public double? LastRtoSeconds { get; set; }
    /// <summary>The incident lastRtoSeconds was measured on.</summary>
    public IncidentStatus? LastIncident { get; set; }
    /// <summary>Whether the measured RPO is within spec.objectives.rpo (absent when none is declared).</summary>
    public bool? RpoMet { get; set; }
    /// <summary>Whether the last measured RTO is within spec.objectives.rto (absent when none is declared or measured).</summary>
    public bool? RtoMet { get; set; }
}

/// <summary>Observed health of one target.</summary>
public sealed class TargetStatus
{
    /// <summary>Deployment or StatefulSet name.</summary>
    public string Name { get; set; } = "";
    /// <summary>Priority from the spec.</summary>
    public int Priority { get; set; }
    /// <summary>Replicas the Deployment or StatefulSet asks for.</summary>
    public int DesiredReplicas { get; set; }
    /// <summary>Ready replicas.</summary>
    public int ReadyReplicas { get; set; }
    /// <summary>The verdict of the health checks.</summary>
    public bool Healthy { get; set; }
    /// <summary>Consecutive failed checks, counted up to healthCheck.retries.</summary>
    public int ConsecutiveFailures { get; set; }
    /// <summary>When the verdict last changed; while healthy, the start of the healthy run.</summary>
    public DateTime? LastTransitionTime { get; set; }
    /// <summary>ActiveActive: the replicas the target had before the operator raised it to keep total capacity.</summary>
    public int? BaseReplicas { get; set; }
    /// <summary>Why the last check failed, empty when it passed.</summary>
    public string? Message { get; set; }
    /// <summary>
    /// True for a cold standby: scaled to zero on purpose, so neither failing nor serving, and still
    /// a failover candidate (it is scaled up when traffic must move to it) unless failover.fenced names it. Absent otherwise.
    /// </summary>
    public bool? Cold { get; set; }
    /// <summary>The first failed check of the current run of failed checks; absent while the latest check passed.</summary>
    public DateTime? FirstFailureTime { get; set; }
}

/// <summary>Failover history.</summary>
public sealed class FailoverStatus
{
    /// <summary>Failovers so far (automatic and failbacks excluded).</summary>
    public int Count { get; set; }
    /// <summary>Closed, Open or HalfOpen.</summary>
    public string Circuit { get; set; } = "Closed";
    /// <summary>When the circuit opened.</summary>
    public DateTime? CircuitOpenedAt { get; set; }
    /// <summary>Times of recent automatic failovers, for the circuit breaker's window.</summary>
    public IList<DateTime>? RecentFailovers { get; set; }
    /// <summary>A failover under way: waiting for a cold standby, or at its fence, promote or switch step.</summary>
    public PendingFailover? Pending { get; set; }
    /// <summary>Failovers and failbacks begun through the fence and promote steps; numbers their hook Jobs.</summary>
    public int? SteppedFailovers { get; set; }
    /// <summary>Targets fenced by ScaleToZero: kept at 0 replicas (no replica floor, no failover to them) until healthy again.</summary>
    public IList<string>? Fenced { get; set; }
    /// <summary>The last traffic switch.</summary>
    public FailoverRecord? Last { get; set; }
}

/// <summary>A failover under way.</summary>
public sealed class PendingFailover
{
    /// <summary>Target losing traffic.</summary>
    public string From { get; set; } = "";
    /// <summary>Target being scaled up to take it.</summary>
    public string To { get; set; } = "";
    /// <summary>When the failing target's first failed check happened.</summary>
    public DateTime? FirstFailureTime { get; set; }
    /// <summary>When the failure was declared.</summary>
    public DateTime DetectedAt { get; set; }
    /// <summary>Failover, Failback or ManualFailback: what the switch will be recorded as.</summary>
    public string? Reason { get; set; }
    /// <summary>With failover.hooks or fencing Required: the step under way, Fence, Promote or Switch (absent: waiting for a standby).</summary>
    public string? Step { get; set; }
    /// <summary>When the current step began (its hook's timeout counts from here).</summary>
    public DateTime? StepStartedAt { get; set; }
    /// <summary>The fence Job (deterministic from the failover, so a restarted operator finds the one it made).</summary>
    public string? FenceJob { get; set; }
    /// <summary>When the fence succeeded (or the old target was found without a ready pod).</summary>
    public DateTime? FencedAt { get; set; }
    /// <summary>The promote Job.</summary>
    public string? PromoteJob { get; set; }
    /// <summary>When the promote succeeded.</summary>
    public DateTime? PromotedAt { get; set; }
    /// <summary>The step that failed or timed out (Fence or Promote): the failover stopped there and traffic stayed.</summary>
    public string? FailedStep { get; set; }
    /// <summary>When the step failed.</summary>
    public DateTime? FailedAt { get; set; }
    /// <summary>Why the step failed.</summary>
    public string? Message { get; set; }
    /// <summary>The policy's generation when the failover began: a new generation starts a stopped failover over, with new Jobs.</summary>
    public long? Generation { get; set; }
}

/// <summary>One traffic switch, with measured times.</summary>
public sealed class FailoverRecord
{
    /// <summary>Target that lost traffic.</summary>
    public string From { get; set; } = "";
    /// <summary>Target that received traffic.</summary>
    public string To { get; set; } = "";
    /// <summary>When the Service was switched.</summary>
    public DateTime Time { get; set; }
    /// <summary>Failover, Failback or ManualFailback.</summary>
    public string Reason { get; set; } = "";
    /// <summary>Seconds from the first failed check to the failure verdict.</summary>
    public double? DetectionSeconds { get; set; }
    /// <summary>Seconds from the failure verdict to the Service switch.</summary>
    public double? SwitchSeconds { get; set; }
    /// <summary>When the target that lost traffic was fenced before the switch (failover.hooks.fence, or fencing Required).</summary>
    public DateTime? FencedAt { get; set; }
    /// <summary>When the target that received traffic was promoted before the switch (failover.hooks.promote).</summary>
    public DateTime? PromotedAt { get; set; }
    /// <summary>The fence Job of this switch.</summary>
    public string? FenceJob { get; set; }
    /// <summary>The promote Job of this switch.</summary>
    public string? PromoteJob { get; set; }
}
