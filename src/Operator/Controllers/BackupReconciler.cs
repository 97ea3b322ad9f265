using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Prometheus;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>
/// Runs one ResilienceBackup: the policy's backup template as a Job per attempt, status through
/// /status. Thin glue around <see cref="JobRun"/>.
/// </summary>
internal sealed class BackupReconciler(RunCaches caches, ClusterWriter writer, IEventRecorder events, CacheExpectations expectations, TimeProvider time,
    ILogger<BackupReconciler> logger) : IReconciler
{
    public const int MaxAttempts = 2;
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(2);

    private static readonly Counter BackupsTotal = Metrics.CreateCounter("resilience_backups_total",
        "Backups that finished, by result (completed, failed).", "namespace", "policy", "result");
    private static readonly Gauge LastSuccess = Metrics.CreateGauge("resilience_backup_last_success_timestamp_seconds",
        "Unix time at which the policy's newest backup completed.", "namespace", "policy");

    private static readonly Counter VerificationsTotal = Metrics.CreateCounter("resilience_backup_verifications_total",
        "Restore tests of backups that finished, by result (passed, failed).", "namespace", "policy", "result");
    internal static readonly Gauge LastVerified = Metrics.CreateGauge("resilience_backup_last_verified_timestamp_seconds",
        "Unix time at which the policy's newest backup that passed its restore test completed.", "namespace", "policy");

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct)
    {
        var backup = caches.Backups.Get(key);
        if (backup is null) expectations.Forget(key);
        if (backup is null || backup.Metadata.DeletionTimestamp is not null) return ReconcileResult.Done;
        // Its last status write or Job not in the cache yet: deciding now would start an attempt twice.
        expectations.ThrowIfAwaited(key);
        var now = time.GetUtcNow().UtcDateTime;
        var ns = key.Namespace;
        // Another shard's policy: that shard runs this backup (docs/sharding.md).
        var (mine, policy) = await caches.Shard.OwnerOfRunAsync(backup, backup.Spec.Policy, ct);
        if (!mine) return ReconcileResult.Done;
        if (backup.Status?.Phase is RunPhase.Completed or RunPhase.Failed)
        {
            if (backup.Status.Phase != RunPhase.Completed) return ReconcileResult.Done;
            var next = JobRun.Copy(backup.Status);
            var changed = !LastKnownGood.IsSuspect(backup) && await MarkSuspectAsync(backup, next, policy, now, ct);
            if (backup.Status.Verification is { } v && (Verification.InProgress(backup) || v.ScratchRemoved != true))
                changed |= await VerifyAsync(backup, next, policy, now, ct);
            if (changed) await WriteAsync(backup, next, ct);
            return ReconcileResult.Done;
        }
        var invalid = SpecValidation.Backup(backup.Spec);
        if (invalid is not null) { }
        else if (policy is null) invalid = $"spec.policy: ResiliencePolicy \"{backup.Spec.Policy}\" not found in namespace {ns}";
        else if (policy.Spec.Backup?.Template?.Spec?.Containers is not { Count: > 0 })
            invalid = $"spec.policy: ResiliencePolicy \"{policy.Metadata.Name}\" has no spec.backup.template to run";
        else if ((policy.Spec.Backup.Locations is { Count: > 0 } l ? l : [BackupSchedule.DefaultLocation]) is var locations
            && !locations.Contains(backup.Spec.Location))
            invalid = $"spec.location: \"{backup.Spec.Location}\" is not one of ResiliencePolicy \"{policy.Metadata.Name}\"'s " +
                $"spec.backup.locations ({string.Join(", ", locations)})";
        if (invalid is not null)
        {
            await WriteAsync(backup, JobRun.Invalid(backup.Status, invalid, now), ct);
            await events.RecordAsync(backup, EventRecorder.Warning, Reasons.InvalidSpec, invalid, ct);
            Count(ns, backup, RunPhase.Failed, now);
            return ReconcileResult.Done;
        }

        var jobs = caches.Jobs.ByIndex(RunCaches.OwnerIndex, backup.Metadata.Uid);
        var decision = JobRun.Next(backup.Status, backup.Metadata.Name, "backup", jobs, MaxAttempts, FirstBackoff, now);
        var target = backup.Status?.Source?.Target ?? (backup.Spec.Target is { Length: > 0 } t ? t
            : policy!.Status?.ActiveTargets?.FirstOrDefault() ?? policy.Spec.Targets.FirstOrDefault()?.Name ?? "");
        // The source's health as the backup starts, recorded once, with the first attempt.
        decision.Status.Source ??= new BackupSourceStatus { Target = target, HealthyAtStart = LastKnownGood.SourceHealthy(policy, target, now) };
        if (decision.CreateAttempt is { } attempt)
        {
            var job = BackupJobs.Build(backup, Labels.Backup, policy!.Metadata.Name, policy.Spec.Backup!.Template!, attempt,
                backup.Metadata.Name, backup.Spec.Location, target);
            if (await writer.CreateJobAsync(job, ct) is { } created) expectations.Expect(key, caches.Jobs, created, created: true);
            logger.LogInformation("{Backup}: attempt {Attempt} started as Job {Job}", key, attempt, job.Metadata.Name);
        }
        foreach (var e in decision.Events) await events.RecordAsync(backup, e.Type, e.Reason, e.Message, ct);
        var before = backup.Status?.Phase;
        if (decision.Status.Phase == RunPhase.Completed && before != RunPhase.Completed)
        {
            decision.Status.Source.HealthyAtEnd = LastKnownGood.SourceHealthy(policy, target, decision.Status.CompletionTime ?? now);
            decision.Status.Source.CompletedBy = now;
            await MarkSuspectAsync(backup, decision.Status, policy, now, ct);
        }
        await WriteAsync(backup, decision.Status, ct);
        if (decision.Status.Phase != before && decision.Status.Phase is RunPhase.Completed or RunPhase.Failed)
        {
            var completed = decision.Status.Phase == RunPhase.Completed;
            await events.RecordAsync(backup, completed ? EventRecorder.Normal : EventRecorder.Warning,
                completed ? Reasons.BackupCompleted : Reasons.BackupFailed, decision.Status.Message ?? "", ct);
            Count(ns, backup, decision.Status.Phase.Value, decision.Status.CompletionTime ?? now);
        }
        return decision.RequeueAfter is { } after ? ReconcileResult.After(after) : ReconcileResult.Done;
    }

    /// <summary>The policy is deleted or handed to another shard: its backup gauge goes (the counters stay, as counters do).</summary>
    public static void ForgetSeries(ObjectKey policy) => LastSuccess.RemoveLabelled(policy.Namespace, policy.Name);
    /// <summary>
    /// Sets condition Suspect on a completed backup: True (with an event) when its source was failing or it
    /// completed after an incident began, else False; whether that changed anything.
    /// </summary>
    private async Task<bool> MarkSuspectAsync(ResilienceBackup backup, ResilienceRunStatus status, ResiliencePolicy? policy, DateTime now,
        CancellationToken ct)
    {
        var probe = new ResilienceBackup { Metadata = backup.Metadata, Spec = backup.Spec, Status = status };
        var why = LastKnownGood.SuspectReason(probe, policy);
        status.Conditions ??= [];
        var old = ConditionSet.Find(status.Conditions, LastKnownGood.Suspect);
        if (why is null)
        {
            if (old is not null) return false;
            ConditionSet.Set(status.Conditions, LastKnownGood.Suspect, "False", Reasons.TargetHealthy,
                "its target passed its health checks as it started and completed", null, now);
            return true;
        }
        ConditionSet.Set(status.Conditions, LastKnownGood.Suspect, "True", Reasons.SuspectBackup,
            why + ": never chosen automatically; a ResilienceRestore naming it needs spec.allowSuspect: true", null, now);
        await events.RecordAsync(backup, EventRecorder.Warning, Reasons.SuspectBackup, $"backup {backup.Metadata.Name} is suspect: {why}", ct);
        logger.LogInformation("{Backup}: suspect: {Why}", ObjectKey.Of(backup), why);
        return true;
    }

    /// <summary>
    /// One step of the backup's restore test (see <see cref="Verification"/>): the scratch copy, the restore
    /// Job into it, the verify Job, the result, the scratch copy removed. Whether the status changed.
    /// </summary>
    private async Task<bool> VerifyAsync(ResilienceBackup backup, ResilienceRunStatus status, ResiliencePolicy? policy, DateTime now,
        CancellationToken ct)
    {
        var ns = backup.Metadata.NamespaceProperty;
        var key = ObjectKey.Of(backup);
        var workloads = new WorkloadStores(caches.Deployments!, caches.StatefulSets!);
        var scratch = Verification.ScratchName(backup.Metadata.Name);
        var targetName = backup.Status?.Source?.Target ?? backup.Spec.Target ?? policy?.Spec.Targets.FirstOrDefault()?.Name ?? "";
        // The copy is of the target's kind; with the policy gone, of the kind of the copy that is there.
        var declared = policy?.Spec.Targets.FirstOrDefault(t => t.Name == targetName)?.Kind;
        var kind = declared ?? (workloads.StatefulSets.Get(ns, scratch) is not null ? WorkloadKind.StatefulSet : WorkloadKind.Deployment);
        var scratchExists = workloads.Get(ns, scratch, kind) is not null;
        var target = workloads.Get(ns, targetName, kind);
        string? cannot = null;
        if (policy is null) cannot = $"ResiliencePolicy \"{backup.Spec.Policy}\" not found";
        // Its finalizer removes the scratch copies of tests under way: never make one again.
        else if (policy.Metadata.DeletionTimestamp is not null) cannot = $"ResiliencePolicy \"{policy.Metadata.Name}\" is being deleted";
        else if (policy.Spec.Restore?.Template?.Spec?.Containers is not { Count: > 0 })
            cannot = $"ResiliencePolicy \"{policy.Metadata.Name}\" has no spec.restore.template to restore with";
        else if (policy.Spec.Backup?.Verify?.Template?.Spec?.Containers is not { Count: > 0 })
            cannot = $"ResiliencePolicy \"{policy.Metadata.Name}\" has no spec.backup.verify.template to verify with";
        else if (target is null && Verification.InProgress(backup) && !scratchExists)
            cannot = $"target {kind} {targetName} not found to copy";
        var step = cannot is not null && Verification.InProgress(backup)
            ? Verification.Cannot(backup.Status!.Verification!, scratch, cannot, now)
            : Verification.Next(backup, scratchExists, caches.Jobs.Get(ns, Verification.RestoreJobName(backup.Metadata.Name)),
                caches.Jobs.Get(ns, Verification.VerifyJobName(backup.Metadata.Name)), now);
        // The cache still showed the target, the API server no longer has it: gone, as if the cache had shown that.
        if (step.CreateScratch && target is not null && !await CreateScratchAsync(backup, kind, targetName, scratch, ct))
            step = Verification.Cannot(backup.Status!.Verification!, scratch, $"target {kind} {targetName} not found to copy", now);
        if (step.CreateRestoreJob) await CreateTestJobAsync(backup, policy!, policy!.Spec.Restore!.Template!, step.Status.RestoreJob!, scratch, ct);
        if (step.CreateVerifyJob) await CreateTestJobAsync(backup, policy!, policy!.Spec.Backup!.Verify!.Template!, step.Status.VerifyJob!, scratch, ct);
        if (step.DeleteScratch)
        {
            var removed = step.Status.Scratch ?? scratch;
            // Kind unknown (the policy gone) and no copy cached: a StatefulSet's claims may outlive it, so both kinds go.
            if (kind == WorkloadKind.StatefulSet || (declared is null && workloads.Deployments.Get(ns, removed) is null))
            {
                var claims = await writer.DeleteScratchStatefulSetAsync(ns, removed, backup.Metadata.Name, ct);
                logger.LogInformation("{Backup}: restore test: scratch copy {Scratch} removed with {Claims} PersistentVolumeClaim(s)", key, removed, claims);
            }
            if (kind == WorkloadKind.Deployment)
            {
                await writer.DeleteScratchDeploymentAsync(ns, removed, ct);
                logger.LogInformation("{Backup}: restore test: scratch copy {Scratch} removed", key, removed);
            }
        }
        foreach (var e in step.Events) await events.RecordAsync(backup, e.Type, e.Reason, e.Message, ct);
        if (step.Finished)
        {
            var passed = step.Status.Phase == VerificationPhase.Passed;
            VerificationsTotal.WithLabels(ns, backup.Spec.Policy, passed ? "passed" : "failed").Inc();
            if (passed && backup.Status?.CompletionTime is { } done) SetLastVerified(ns, backup.Spec.Policy, done);
        }
        status.Verification = step.Status;
        status.Conditions ??= [];
        var (cs, reason, message) = Verification.Condition(step.Status);
        ConditionSet.Set(status.Conditions, LastKnownGood.Verified, cs, reason, message, null, now);
        return true;
    }

    /// <summary>
    /// Makes the scratch copy of a restore test from its target read whole from the API server (the cache keeps no
    /// containers, volumes or claim templates of it); false when the target is gone (404). Any other error of the read
    /// fails the reconcile before anything is written, and it is retried: never a verdict.
    /// </summary>
    private async Task<bool> CreateScratchAsync(ResilienceBackup backup, WorkloadKind kind, string targetName, string scratch, CancellationToken ct)
    {
        var ns = backup.Metadata.NamespaceProperty;
        var key = ObjectKey.Of(backup);
        if (kind == WorkloadKind.StatefulSet)
        {
            if (await writer.ReadStatefulSetAsync(ns, targetName, ct) is not { } set) return false;
            if (await writer.CreateScratchStatefulSetAsync(Verification.ScratchCopy(set, backup, scratch), ct) is { } made)
                expectations.Expect(key, caches.StatefulSets!, made, created: true);
        }
        else
        {
            if (await writer.ReadDeploymentAsync(ns, targetName, ct) is not { } d) return false;
            if (await writer.CreateScratchDeploymentAsync(Verification.ScratchCopy(d, backup, scratch), ct) is { } made)
                expectations.Expect(key, caches.Deployments!, made, created: true);
        }
        logger.LogInformation("{Backup}: restore test: scratch copy {Scratch} of {Kind} {Target}", key, scratch, kind, targetName);
        return true;
    }

    /// <summary>resilience_backup_last_verified_timestamp_seconds: never moved back by an older backup.</summary>
    internal static void SetLastVerified(string ns, string policy, DateTime completed)
    {
        var seconds = new DateTimeOffset(BackupSchedule.Utc(completed)).ToUnixTimeMilliseconds() / 1000.0;
        var gauge = LastVerified.WithLabels(ns, policy);
        if (gauge.Value < seconds) gauge.Set(seconds);
    }

    private async Task CreateTestJobAsync(ResilienceBackup backup, ResiliencePolicy policy, V1PodTemplateSpec template, string name, string scratch,
        CancellationToken ct)
    {
        var job = BackupJobs.Build(backup, Labels.Backup, policy.Metadata.Name, template, 1, backup.Metadata.Name, backup.Spec.Location, scratch, name);
        if (await writer.CreateJobAsync(job, ct) is { } created) expectations.Expect(ObjectKey.Of(backup), caches.Jobs, created, created: true);
        logger.LogInformation("{Backup}: restore test: Job {Job} against {Scratch}", ObjectKey.Of(backup), name, scratch);
    }

    private static void Count(string ns, ResilienceBackup backup, RunPhase phase, DateTime at)
    {
        BackupsTotal.WithLabels(ns, backup.Spec.Policy, phase == RunPhase.Completed ? "completed" : "failed").Inc();
        if (phase == RunPhase.Completed)
            LastSuccess.WithLabels(ns, backup.Spec.Policy)
                .Set(new DateTimeOffset(BackupSchedule.Utc(at)).ToUnixTimeMilliseconds() / 1000.0);
    }

    private async Task WriteAsync(ResilienceBackup backup, ResilienceRunStatus status, CancellationToken ct)
    {
        if (await writer.Resources.WriteStatusAsync(backup, status, ct) is not { } updated) return;
        expectations.Expect(ObjectKey.Of(backup), caches.Backups, updated);
    }
}
