using k8s.Models;

namespace ResilienceOperator.Entities;

/// <summary>What the operator observed and did.</summary>
public sealed class ResiliencePolicyStatus
{
    /// <summary>The generation of the spec this status describes.</summary>
    public long? ObservedGeneration { get; set; }

    /// <summary>Targets receiving traffic.</summary>
    public IList<string>? ActiveTargets { get; set; }

    /// <summary>Health of every target.</summary>
    public IList<TargetStatus>? Targets { get; set; }

    /// <summary>Failover history and circuit state.</summary>
    public FailoverStatus? Failover { get; set; }

    /// <summary>Ready, Healthy, FailedOver, CircuitOpen (metav1.Condition).</summary>
    public IList<V1Condition>? Conditions { get; set; }
}

/// <summary>Observed health of one target.</summary>
public sealed class TargetStatus
{
    /// <summary>Deployment name.</summary>
    public string Name { get; set; } = "";
    /// <summary>Priority from the spec.</summary>
    public int Priority { get; set; }
    /// <summary>Replicas the Deployment asks for.</summary>
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
    /// <summary>A failover waiting for a cold standby to become ready.</summary>
    public PendingFailover? Pending { get; set; }
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
}
