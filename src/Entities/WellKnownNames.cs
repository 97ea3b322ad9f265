namespace ResilienceOperator.Entities;

/// <summary>Labels the operator puts on the objects it makes and selects them by.</summary>
public static class Labels
{
    /// <summary>The ResiliencePolicy an object belongs to (PodDisruptionBudgets, Jobs and their pods, backups, restores, drills).</summary>
    public const string Policy = "resilience.dev/policy";
    /// <summary>On a PodDisruptionBudget: the target it protects.</summary>
    public const string Target = "resilience.dev/target";
    /// <summary>On a Job: the ResilienceBackup it runs.</summary>
    public const string Backup = "resilience.dev/backup";
    /// <summary>On a Job: the ResilienceRestore it runs.</summary>
    public const string Restore = "resilience.dev/restore";
    /// <summary>On a Job: the attempt it is, counted from 1.</summary>
    public const string Attempt = "resilience.dev/attempt";
    /// <summary>On a ResilienceRestore the operator made for an incident: the failed target.</summary>
    public const string Incident = "resilience.dev/incident";
    /// <summary>On a Job: the failover hook it runs (fence or promote).</summary>
    public const string Hook = "resilience.dev/hook";
    /// <summary>
    /// On a scratch copy of a target (a restore test) and its pods: the ResilienceBackup tested. Its pods carry no
    /// other label, so no Service, PodDisruptionBudget or health check of a policy selects them.
    /// </summary>
    public const string Scratch = "resilience.dev/scratch";
}

/// <summary>Annotations the operator reads or writes.</summary>
public static class Annotations
{
    /// <summary>On a ResiliencePolicy: a person asks for a manual failback (`now`).</summary>
    public const string Failback = "resilience.dev/failback";
    /// <summary>On a Service the operator steers: the selector it had before, put back when the policy goes.</summary>
    public const string OriginalSelector = "resilience.dev/original-selector";
    /// <summary>On a Service the operator steers: the policy steering it.</summary>
    public const string SteeredBy = "resilience.dev/steered-by";
    /// <summary>On a shed Deployment: the replicas it had before it was shed.</summary>
    public const string ShedReplicas = "resilience.dev/shed-replicas";
    /// <summary>On a Deployment a ResilienceDrill has failed on purpose: the drill's name; no floor scales it back up while the drill runs.</summary>
    public const string Drill = "resilience.dev/drill";
    /// <summary>On a Deployment failed by a drill: the replicas it had before, put back afterwards.</summary>
    public const string DrillReplicas = "resilience.dev/drill-replicas";
    /// <summary>On a KEDA ScaledObject: set beside KEDA's pause annotation when the operator paused it, so only such a pause is lifted.</summary>
    public const string PausedByOperator = "resilience.dev/paused-keda";
    /// <summary>On a scratch copy made for a restore test: the target Deployment it copies.</summary>
    public const string ScratchOf = "resilience.dev/scratch-of";
}

/// <summary>Finalizers the operator puts on its resources.</summary>
public static class Finalizers
{
    /// <summary>On a ResiliencePolicy: traffic, templates and budgets are handed back before it goes.</summary>
    public const string Policy = "resilience.dev/finalizer";
    /// <summary>On a ResilienceDrill: its fault is removed before it goes.</summary>
    public const string Drill = "resilience.dev/drill";
}

/// <summary>Pod condition types the operator sets.</summary>
public static class PodConditions
{
    /// <summary>The readiness gate of ActiveActive targets: the pod passes the policy's health checks.</summary>
    public const string Healthy = "resilience.dev/healthy";
}
