using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>
/// Runs one ResilienceRestore: checks that its backup belongs to its policy and completed, then
/// runs the policy's restore template as a Job per attempt with BACKUP_NAME set; failed attempts
/// are retried with backoff. The policy reconciler keeps traffic away from the target meanwhile.
/// </summary>
internal sealed class RestoreReconciler(RunCaches caches, ClusterWriter writer, IEventRecorder events, CacheExpectations expectations, TimeProvider time,
    ILogger<RestoreReconciler> logger) : IReconciler
{
    public const int MaxAttempts = 3;
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(2);

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct)
    {
        var restore = caches.Restores.Get(key);
        if (restore is null) expectations.Forget(key);
        if (restore is null || restore.Metadata.DeletionTimestamp is not null) return ReconcileResult.Done;
        // Its last status write or Job not in the cache yet: deciding now would start an attempt twice.
        expectations.ThrowIfAwaited(key);
        if (restore.Status?.Phase is RunPhase.Completed or RunPhase.Failed) return ReconcileResult.Done;
        var now = time.GetUtcNow().UtcDateTime;
        var ns = key.Namespace;
        // Another shard's policy: that shard runs this restore (docs/sharding.md).
        var (mine, policy) = await caches.Shard.OwnerOfRunAsync(restore, restore.Spec.Policy, ct);
        if (!mine) return ReconcileResult.Done;
        ResilienceBackup? backup = null;
        string? invalid = SpecValidation.Restore(restore.Spec), waiting = null, reason = null;
        var refusedSuspect = false;
        if (invalid is not null) { }
        else if (policy is null) invalid = $"spec.policy: ResiliencePolicy \"{restore.Spec.Policy}\" not found in namespace {ns}";
        else if (policy.Spec.Restore?.Template?.Spec?.Containers is not { Count: > 0 })
            invalid = $"spec.policy: ResiliencePolicy \"{policy.Metadata.Name}\" has no spec.restore.template to run";
        else if (policy.Spec.Targets.All(t => t.Name != restore.Spec.Target))
            invalid = $"spec.target: \"{restore.Spec.Target}\" is not a target of ResiliencePolicy \"{policy.Metadata.Name}\"";
        else
        {
            var name = restore.Status?.Backup is { Length: > 0 } chosen ? chosen : restore.Spec.Backup;
            if (string.IsNullOrEmpty(name))
            {
                // While the target has an open incident, only backups completed before it began.
                var cutoff = policy.Status?.Incidents?.Where(i => i.Target == restore.Spec.Target).Select(i => i.LastPassingCheck).Min();
                (backup, var why) = LastKnownGood.Choose(caches.Backups.ByIndex(RunCaches.ByPolicyIndex, ns + "/" + policy.Metadata.Name), cutoff);
                if (backup is null) invalid = $"spec.backup: empty, and ResiliencePolicy \"{policy.Metadata.Name}\" has no good backup to restore ({why})";
                reason = "spec.backup empty: the " + why;
            }
            else
            {
                backup = caches.Backups.Get(ns, name);
                if (backup is null) invalid = $"spec.backup: ResilienceBackup \"{name}\" not found in namespace {ns}";
                else if (backup.Spec.Policy != policy.Metadata.Name)
                    invalid = $"spec.backup: ResilienceBackup \"{name}\" belongs to ResiliencePolicy \"{backup.Spec.Policy}\", not \"{policy.Metadata.Name}\"";
                else if (backup.Status?.Phase == RunPhase.Failed)
                    invalid = $"spec.backup: ResilienceBackup \"{name}\" failed; only a Completed backup can be restored";
                else if (backup.Status?.Phase != RunPhase.Completed)
                    waiting = $"waiting for ResilienceBackup \"{name}\" to complete (phase {backup.Status?.Phase?.ToString() ?? "Pending"})";
                else if (LastKnownGood.IsSuspect(backup) && restore.Spec.AllowSuspect != true)
                    (invalid, refusedSuspect) = ($"spec.allowSuspect: ResilienceBackup \"{name}\" is suspect " +
                        $"({ConditionSet.Find(backup.Status.Conditions, LastKnownGood.Suspect)?.Message}); "
                        + "set spec.allowSuspect: true to restore it anyway", true);
                else
                    reason = restore.Metadata.Labels?.ContainsKey(Labels.Incident) == true
                        && policy.Status?.Incidents?.FirstOrDefault(i => i.Restore == restore.Metadata.Name)?.BackupReason is { } chosenWhy
                        ? "chosen for the incident: the " + chosenWhy
                        : LastKnownGood.IsSuspect(backup) ? "named in spec.backup; suspect, restored because spec.allowSuspect is true"
                        : "named in spec.backup";
            }
        }
        if (invalid is not null)
        {
            await WriteAsync(restore, JobRun.Invalid(restore.Status, invalid, now, refusedSuspect ? Reasons.SuspectRefused : Reasons.InvalidSpec), ct);
            await events.RecordAsync(restore, EventRecorder.Warning, refusedSuspect ? Reasons.SuspectRefused : Reasons.InvalidSpec, invalid, ct);
            return ReconcileResult.Done;
        }
        if (waiting is not null)
        {
            await WriteAsync(restore, JobRun.Waiting(restore.Status, waiting, now), ct);
            return ReconcileResult.Done; // the backup's updates requeue this restore
        }

        var jobs = caches.Jobs.ByIndex(RunCaches.OwnerIndex, restore.Metadata.Uid);
        var decision = JobRun.Next(restore.Status, restore.Metadata.Name, "restore", jobs, MaxAttempts, FirstBackoff, now);
        decision.Status.Backup = backup!.Metadata.Name;
        decision.Status.BackupReason ??= reason;
        if (decision.CreateAttempt is { } attempt)
        {
            var job = BackupJobs.Build(restore, Labels.Restore, policy!.Metadata.Name, policy.Spec.Restore!.Template!, attempt,
                backup.Metadata.Name, backup.Spec.Location, restore.Spec.Target);
            if (await writer.CreateJobAsync(job, ct) is { } created) expectations.Expect(key, caches.Jobs, created, created: true);
            logger.LogInformation("{Restore}: attempt {Attempt} of {Target} from {Backup} started as Job {Job}",
                key, attempt, restore.Spec.Target, backup.Metadata.Name, job.Metadata.Name);
        }
        foreach (var e in decision.Events)
            await events.RecordAsync(restore, e.Type, e.Reason == Reasons.AttemptFailed ? Reasons.RestoreFailed : e.Reason, e.Message, ct);
        var before = restore.Status?.Phase;
        await WriteAsync(restore, decision.Status, ct);
        if (decision.Status.Phase != before && decision.Status.Phase is RunPhase.Completed or RunPhase.Failed)
        {
            var completed = decision.Status.Phase == RunPhase.Completed;
            await events.RecordAsync(restore, completed ? EventRecorder.Normal : EventRecorder.Warning,
                completed ? Reasons.RestoreCompleted : Reasons.RestoreFailed, decision.Status.Message ?? "", ct);
        }
        return decision.RequeueAfter is { } after ? ReconcileResult.After(after) : ReconcileResult.Done;
    }

    private async Task WriteAsync(ResilienceRestore restore, ResilienceRunStatus status, CancellationToken ct)
    {
        if (await writer.Resources.WriteStatusAsync(restore, status, ct) is not { } updated) return;
        expectations.Expect(ObjectKey.Of(restore), caches.Restores, updated);
    }
}
