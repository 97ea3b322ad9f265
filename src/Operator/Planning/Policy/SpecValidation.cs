using System.Text.RegularExpressions;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// Every check of a spec that needs nothing but the spec, naming the field: the one source of
/// truth for the admission webhook (which denies with these messages) and the reconcilers (which
/// report the same messages as <c>InvalidSpec</c> for what reached the cluster anyway: a server
/// without the webhook, or the webhook unreachable). What needs the cluster — a Deployment or
/// Service that does not exist, a Service steered by another policy, a probe port no container
/// declares, a backup of another policy — only the reconcilers can see.
/// <para>
/// For a policy these are the checks of <see cref="EffectiveSpec.From"/> (Ready=False when they
/// fail), <see cref="DegradationPlanner.ValidateSpec"/>, <see cref="BackupSchedule.From"/> and
/// <see cref="RecoveryPlanner.RestoreError"/> (BackupsHealthy=False, failover carries on) and
/// <see cref="DrillSchedule.Parse"/> (an InvalidSpec event, no scheduled drills).
/// </para>
/// </summary>
internal static partial class SpecValidation
{
    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Label();

    /// <summary>Every spec-only error of a policy, in field order; empty when there is none.</summary>
    public static IReadOnlyList<string> Policy(ResiliencePolicySpec spec)
    {
        var errors = new List<string>();
        if (EffectiveSpec.From(spec).Error is { } error) errors.Add(error);
        if (DegradationPlanner.ValidateSpec(spec.Degradation, spec.Targets) is { } degradation) errors.Add(degradation);
        if (spec.Backup is { } backup && BackupSchedule.From(backup).Error is { } backupError) errors.Add(backupError);
        if (RecoveryPlanner.RestoreError(spec) is { } restoreError) errors.Add(restoreError);
        if (RecoveryPlanner.VerifyError(spec) is { } verifyError) errors.Add(verifyError);
        if (spec.Drills is { } drills && DrillSchedule.Parse(drills.Schedule).Error is { } drillError) errors.Add(drillError);
        return errors;
    }

    /// <summary>What is wrong with a backup's spec alone; null when it is fine.</summary>
    public static string? Backup(ResilienceBackupSpec spec)
    {
        if (string.IsNullOrEmpty(spec.Policy)) return "spec.policy: required";
        if (spec.Location is not { Length: > 0 and <= 63 } location || !Label().IsMatch(location))
            return $"spec.location: \"{spec.Location}\" must be a lowercase DNS label";
        return null;
    }

    /// <summary>What is wrong with a restore's spec alone; null when it is fine.</summary>
    public static string? Restore(ResilienceRestoreSpec spec)
    {
        if (string.IsNullOrEmpty(spec.Policy)) return "spec.policy: required";
        if (string.IsNullOrEmpty(spec.Target)) return "spec.target: required";
        if (spec.AllowSuspect == true && string.IsNullOrEmpty(spec.Backup))
            return "spec.allowSuspect: applies only to a backup named in spec.backup (an empty spec.backup never picks a suspect one)";
        return null;
    }

    /// <summary>What is wrong with a drill's spec alone; null when it is fine.</summary>
    public static string? Drill(ResilienceDrillSpec spec)
    {
        if (string.IsNullOrEmpty(spec.Policy)) return "spec.policy: required";
        if (spec.MaxUnavailable < 1) return "spec.maxUnavailable: must be at least 1";
        return null;
    }
}
