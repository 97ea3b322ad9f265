using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// A cold standby (a target scaled to zero on purpose: not failing, not counted as unhealthy) as
/// status.targets records it: <see cref="TargetStatus.Cold"/>, read back after a restart and by the drills.
/// </summary>
internal static class ColdStandby
{
    /// <summary>status.targets[].message of a cold standby, for people.</summary>
    public const string Message = "cold standby (0 replicas)";

    /// <summary>Whether the target's status records a cold standby.</summary>
    public static bool Of(TargetStatus t) => t.Cold == true;
}

/// <summary>One check of one target: what was seen, and whether it passed.</summary>
internal readonly record struct CheckResult(bool Passed, int DesiredReplicas, int ReadyPods, int PassingPods, string Message, bool Cold = false);

/// <summary>The verdict on a target, kept between checks.</summary>
internal sealed record TargetHealth(
    bool Healthy,
    int ConsecutiveFailures,
    int ConsecutiveSuccesses,
    DateTime? FirstFailureTime,
    DateTime LastTransitionTime,
    int DesiredReplicas,
    int ReadyPods,
    string Message,
    bool Cold)
{
    /// <summary>
    /// Failed: the target went from healthy to unhealthy (not merely starting, not scaled to zero),
    /// and has not been healthy since. Only a failed target is an incident that may be restored: a
    /// standby being scaled up, a target coming back from zero or one a drill took down never is.
    /// </summary>
    public bool Failed { get; init; }

    /// <summary>
    /// Taken over from the policy's status after a (re)start or a new leadership term, not yet
    /// confirmed by a check of this process. A seeded verdict never moves traffic.
    /// </summary>
    public bool Seeded { get; init; }

    /// <summary>
    /// When this process first checked the target after taking its verdict over from status (null
    /// when it has judged the target from the start): a timer such as the failback delay counts
    /// from here at the earliest, never from a previous process's or term's observation.
    /// </summary>
    public DateTime? ObservedSince { get; init; }

    /// <summary>
    /// The last check of this process that passed (null before one did, and in a verdict taken over from status):
    /// a failure began after it, so a backup completed after it may hold the failure's damage.
    /// </summary>
    public DateTime? LastPassedAt { get; init; }

    /// <summary>Whether the latest check passed (a healthy verdict may still hold a failure below the retries).</summary>
    public bool LastCheckPassed => Healthy && ConsecutiveFailures == 0;

    /// <summary>
    /// Folds one check into the verdict: <paramref name="retries"/> consecutive failures make a
    /// healthy target unhealthy, <paramref name="successThreshold"/> successes make it healthy again.
    /// The first check of a target decides at once: there is no earlier verdict to protect.
    /// </summary>
    public static TargetHealth Next(TargetHealth? previous, CheckResult check, int retries, int successThreshold, DateTime now)
    {
        if (previous is null)
        {
            // A cold standby is not failing, from its first check on (as in every later one below):
            // counting a failure here would change its status again at the second check.
            var failing = !check.Passed && !check.Cold;
            return new TargetHealth(check.Passed, failing ? 1 : 0, check.Passed ? 1 : 0, failing ? now : null, now,
                check.DesiredReplicas, check.ReadyPods, check.Message, check.Cold)
            { LastPassedAt = check.Passed ? now : null };
        }
        // Counted up to the thresholds only: beyond them the number says nothing new, and a count
        // that grows every interval would turn every check of a failed target into a status write.
        var failures = check.Passed ? 0 : Math.Min(previous.ConsecutiveFailures + 1, retries);
        var successes = check.Passed ? Math.Min(previous.ConsecutiveSuccesses + 1, successThreshold) : 0;
        DateTime? firstFailure = check.Passed ? null : previous.FirstFailureTime ?? now;
        var healthy = previous.Healthy
            ? !(failures >= retries)
            : successes >= successThreshold;
        // A target scaled to zero on purpose (cold standby) has nothing to judge: it is neither
        // failing nor serving, and stays a failover candidate.
        if (check.Cold) { healthy = false; failures = 0; firstFailure = null; }
        var transition = healthy != previous.Healthy || check.Cold != previous.Cold ? now : previous.LastTransitionTime;
        var failed = !healthy && !check.Cold && (previous.Healthy || previous.Failed);
        return new TargetHealth(healthy, failures, successes, firstFailure, transition, check.DesiredReplicas, check.ReadyPods, check.Message, check.Cold)
        {
            Failed = failed,
            ObservedSince = previous.Seeded ? now : previous.ObservedSince,
            LastPassedAt = check.Passed ? now : previous.LastPassedAt,
        };
    }

    /// <summary>
    /// Whether a new verdict is worth a reconcile (and a status write). Ready and desired pod
    /// counts are part of it: they make the ready capacity that graceful degradation acts on.
    /// </summary>
    public bool DiffersForStatus(TargetHealth? other) =>
        other is null || other.Seeded != Seeded || other.Healthy != Healthy || other.ConsecutiveFailures != ConsecutiveFailures || other.Cold != Cold
        || other.ReadyPods != ReadyPods || other.DesiredReplicas != DesiredReplicas
        || (!Healthy && other.Message != Message);
}
