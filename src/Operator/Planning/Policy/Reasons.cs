namespace ResilienceOperator.Planning;

/// <summary>CamelCase reasons for conditions and events.</summary>
internal static class Reasons
{
    public const string InvalidSpec = "InvalidSpec";
    public const string Forbidden = "Forbidden";
    public const string AllTargetsHealthy = "AllTargetsHealthy";
    public const string Serving = "Serving";
    public const string NotChecked = "NotChecked";
    public const string TargetsUnhealthy = "TargetsUnhealthy";
    public const string TargetUnhealthy = "TargetUnhealthy";
    public const string NoHealthyTarget = "NoHealthyTarget";
    public const string Failover = "Failover";
    public const string Failback = "Failback";
    public const string ManualFailback = "ManualFailback";
    public const string FailbackPending = "FailbackPending";
    public const string TrafficSteered = "TrafficSteered";
    public const string WaitingForStandby = "WaitingForStandby";
    /// <summary>Failover hooks: a stepped failover or failback began (fence, promote, switch).</summary>
    public const string FailoverStarted = "FailoverStarted";
    /// <summary>Failover hooks: the old target is being fenced (or, fencing Required, still has a ready pod).</summary>
    public const string Fencing = "Fencing";
    /// <summary>Failover hooks: the new target is being promoted.</summary>
    public const string Promoting = "Promoting";
    /// <summary>Failover hooks: ScaleToZero scaled the old target to 0.</summary>
    public const string Fenced = "Fenced";
    /// <summary>Failover hooks: the fence failed or timed out; traffic stayed.</summary>
    public const string FenceFailed = "FenceFailed";
    /// <summary>Failover hooks: the promote failed or timed out; traffic stayed.</summary>
    public const string PromoteFailed = "PromoteFailed";
    public const string ScaledUp = "ScaledUp";
    public const string HpaMinRaised = "HpaMinReplicasRaised";
    public const string CircuitOpen = "CircuitOpen";
    public const string CircuitHalfOpen = "CircuitHalfOpen";
    public const string CircuitClosed = "CircuitClosed";
    public const string OnPreferredTarget = "OnPreferredTarget";
    public const string FailedOver = "FailedOver";
    public const string FailoverDisabled = "FailoverDisabled";
    /// <summary>Most checked targets failed at once: the operator doubts its own view and holds failovers.</summary>
    public const string ObserverSuspect = "ObserverSuspect";
    public const string CapacityKept = "CapacityKept";
    public const string CapacityRestored = "CapacityRestored";
    public const string PodTemplateUpdated = "PodTemplateUpdated";
    public const string SelectorRestored = "SelectorRestored";
    public const string TargetHealthy = "TargetHealthy";
    public const string NotConfigured = "NotConfigured";
    public const string NoBackupYet = "NoBackupYet";
    public const string BackupsSucceeding = "BackupsSucceeding";
    public const string BackupFailed = "BackupFailed";
    public const string BackupCompleted = "BackupCompleted";
    public const string BackupScheduled = "BackupScheduled";
    public const string CatchUpBackup = "CatchUpBackup";
    public const string RestoreStarted = "RestoreStarted";
    public const string RestoreFailed = "RestoreFailed";
    public const string RestoreCompleted = "RestoreCompleted";
    public const string NoBackupToRestore = "NoBackupToRestore";
    /// <summary>A target failed and every completed backup is suspect or completed after the failure began: no restore.</summary>
    public const string NoGoodBackup = "NoGoodBackup";
    /// <summary>A backup's target was failing, or it completed after a failure began: never restored automatically.</summary>
    public const string SuspectBackup = "Suspect";
    /// <summary>A restore names a suspect backup without spec.allowSuspect.</summary>
    public const string SuspectRefused = "SuspectBackupRefused";
    /// <summary>A backup passed its restore test.</summary>
    public const string BackupVerified = "BackupVerified";
    /// <summary>A backup failed its restore test (the restore into the scratch copy or the verify Job failed).</summary>
    public const string BackupVerificationFailed = "BackupVerificationFailed";
    /// <summary>A restore test is under way.</summary>
    public const string Verifying = "Verifying";
    /// <summary>No backup has passed a restore test yet.</summary>
    public const string NoVerifiedBackup = "NoVerifiedBackup";
    /// <summary>The newest backup tested passed.</summary>
    public const string BackupsVerified = "BackupsVerified";
    /// <summary>A VerifyBackup drill found no completed backup to test (none, all suspect, or all tested already).</summary>
    public const string NoBackupToVerify = "NoBackupToVerify";
    public const string Restoring = "Restoring";
    public const string JobStarted = "JobStarted";
    public const string AttemptFailed = "AttemptFailed";
    public const string NoObjectives = "NoObjectives";
    public const string ObjectivesMet = "ObjectivesMet";
    public const string ObjectivesBreached = "ObjectivesBreached";
    public const string NoCompletedBackup = "NoCompletedBackup";
    public const string Running = "Running";
    public const string Degraded = "Degraded";
    public const string CapacityBelowThreshold = "CapacityBelowThreshold";
    public const string Shed = "Shed";
    public const string Unshed = "Unshed";
    public const string FallbackActive = "FallbackActive";
    public const string FallbackReleased = "FallbackReleased";
    public const string AutoscalerPaused = "AutoscalerPaused";
    public const string AutoscalerResumed = "AutoscalerResumed";
    /// <summary>Ready reason of a DryRun policy whose serving target is healthy; event reasons are DryRun + the action.</summary>
    public const string DryRun = "DryRun";
    /// <summary>Backup and restore runs: a Job failed without a reason of its own.</summary>
    public const string JobFailed = "JobFailed";
    /// <summary>Backup and restore runs: every Job attempt failed.</summary>
    public const string AttemptsExhausted = "AttemptsExhausted";
    /// <summary>The pod readiness gate of ActiveActive targets.</summary>
    public const string ProbesPass = "ProbesPass";
    public const string ProbesFail = "ProbesFail";
    /// <summary>A webhook delivery given up (Warning event on the policy).</summary>
    public const string NotificationFailed = "NotificationFailed";

    // Drills: events and the drill's Succeeded condition.
    public const string DrillPassed = "DrillPassed";
    public const string DrillFailed = "DrillFailed";
    public const string DrillAborted = "DrillAborted";
    public const string DrillStarted = "DrillStarted";
    public const string DrillScheduled = "DrillScheduled";
    public const string Recovered = "Recovered";
    public const string RtoExceeded = "RtoExceeded";
    public const string MaxUnavailableExceeded = "MaxUnavailableExceeded";
    public const string PolicyDeleted = "PolicyDeleted";
    // Drills: the guard rails that refuse a drill (with FailedOver).
    public const string PolicyNotFound = "PolicyNotFound";
    public const string PolicyInDryRun = "PolicyInDryRun";
    public const string AnotherDrillRunning = "AnotherDrillRunning";
    public const string RestoreInProgress = "RestoreInProgress";
    public const string FailoverInProgress = "FailoverInProgress";
    public const string PolicyNotReady = "PolicyNotReady";
    public const string PolicyDegraded = "PolicyDegraded";
    public const string BackupOlderThanRpo = "BackupOlderThanRpo";
    public const string NoActiveTarget = "NoActiveTarget";
}
