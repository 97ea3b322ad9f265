using System.Globalization;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Prometheus;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>The caches the drill controllers read.</summary>
internal sealed record DrillCaches(
    Store<ResilienceDrill> Drills,
    Store<ResiliencePolicy> Policies,
    Store<V1Deployment> Deployments,
    Store<V1Pod> Pods,
    Store<ResilienceRestore> Restores,
    PolicyShard Shard)
{
    /// <summary>StatefulSet targets.</summary>
    public Store<V1StatefulSet> StatefulSets { get; init; } = new();

    /// <summary>A drill's target of either kind, in the one shape of <see cref="Workloads.View"/>.</summary>
    public V1Deployment? Workload(string ns, string name) => new WorkloadStores(Deployments, StatefulSets).Find(ns, name, WorkloadKind.Deployment);
    /// <summary>Backups: a VerifyBackup drill asks for a restore test of one and waits for its result.</summary>
    public Store<ResilienceBackup>? Backups { get; init; }

    /// <summary>Running VerifyBackup drills testing <paramref name="backup"/>.</summary>
    public IEnumerable<ResilienceDrill> Verifying(ResilienceBackup backup) =>
        Drills.ByIndex(Store<ResilienceDrill>.NamespaceIndex, backup.Metadata.NamespaceProperty)
            .Where(d => d.Status is { Phase: DrillPhase.Running } s && s.Backup == backup.Metadata.Name);

    /// <summary>Drills by namespace/spec.policy.</summary>
    public const string ByPolicyIndex = "drill-by-policy";

    public static DrillCaches Of(OperatorInformers informers) =>
        new(informers.Drills.Store, informers.Policies.Store, informers.Deployments.Store, informers.Pods.Store, informers.Restores.Store, informers.Shard)
        {
            StatefulSets = informers.StatefulSets.Store,
            Backups = informers.Backups.Store,
        };

    /// <summary>The <see cref="ByPolicyIndex"/> value of a drill.</summary>
    public static string[] PolicyOf(ResilienceDrill d) => [d.Metadata.NamespaceProperty + "/" + d.Spec.Policy];

    public IReadOnlyList<ResilienceDrill> DrillsOf(string ns, string policy) => Drills.ByIndex(ByPolicyIndex, ns + "/" + policy);

    /// <summary>Running drills whose target is <paramref name="deployment"/>.</summary>
    public IEnumerable<ResilienceDrill> RunningOn(string ns, string deployment) =>
        Drills.ByIndex(Store<ResilienceDrill>.NamespaceIndex, ns).Where(d => d.Status is { Phase: DrillPhase.Running } s && s.Target == deployment);

    /// <summary>Running drills whose target's pods include <paramref name="pod"/> (by the Deployment's selector).</summary>
    public IEnumerable<ResilienceDrill> RunningOn(V1Pod pod)
    {
        var ns = pod.Metadata.NamespaceProperty;
        return Drills.ByIndex(Store<ResilienceDrill>.NamespaceIndex, ns).Where(d =>
            d.Status is { Phase: DrillPhase.Running, Target: { Length: > 0 } target }
            && Workload(ns, target)?.Spec.Selector?.MatchLabels is { Count: > 0 } selector
            && DrillPlanner.Matches(selector, pod.Metadata.Labels));
    }

    public TargetPods PodsOf(string ns, string? target)
    {
        var d = target is null ? null : Workload(ns, target);
        if (d?.Spec.Selector?.MatchLabels is not { Count: > 0 } selector) return new TargetPods(0, []);
        return new TargetPods(d.Spec.Replicas ?? 1,
            LabelIndex.Matching(Pods, ns, selector));
    }
}

/// <summary>
/// Runs one ResilienceDrill: guard rails, finalizer, fault, verdict, fault removed. Thin glue
/// around <see cref="DrillPlanner"/>. While a drill runs it is looked at on every watch event of
/// what it waits for — its policy's status, its target's Deployment and pods (see
/// <see cref="DrillController"/>) — as soon as the informer has put it in the cache, so the
/// measured RTO ends when the cache observes the recovery (to within the queue's latency); the
/// only timer is the RTO deadline.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "Its SemaphoreSlim is only awaited (WaitAsync), so it never allocates a wait handle; the reconciler lives as long as the process.")]
internal sealed class DrillReconciler(DrillCaches caches, DrillWriter writer, IEventRecorder events, CacheExpectations expectations, TimeProvider time,
    ILogger<DrillReconciler> logger) : IReconciler
{
    private static readonly Counter DrillsTotal = Metrics.CreateCounter("resilience_drills_total",
        "Drills that ended, by result (passed, failed, aborted).", "namespace", "policy", "result");

    // Guard rails and the Running write happen under one lock, so two drills of a policy
    // reconciled by two workers cannot both pass the "another drill runs" guard.
    private readonly SemaphoreSlim _start = new(1, 1);

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct)
    {
        var drill = caches.Drills.Get(key);
        if (drill is null)
        {
            expectations.Forget(key);
            return ReconcileResult.Done;
        }
        // Another shard's policy: that shard runs, finalizes and cleans up this drill (docs/sharding.md).
        var (mine, policy) = await caches.Shard.OwnerOfRunAsync(drill, drill.Spec.Policy, ct);
        if (!mine) return ReconcileResult.Done;
        // Read-your-writes: a drill that acted on the state from before its own write would inject twice.
        expectations.ThrowIfAwaited(key);
        var now = time.GetUtcNow().UtcDateTime;
        if (drill.Metadata.DeletionTimestamp is not null)
        {
            await FinalizeAsync(drill, ct);
            return ReconcileResult.Done;
        }
        if (drill.Status?.Phase is DrillPhase.Passed or DrillPhase.Failed or DrillPhase.Aborted)
        {
            await CleanUpAsync(drill, ct);
            return ReconcileResult.Done;
        }
        if (drill.Status?.Phase is null or DrillPhase.Pending)
        {
            var started = await StartAsync(drill, policy, now, ct);
            if (started is null) return ReconcileResult.Done;
            drill = started;
        }
        return await RunAsync(drill, policy, now, ct);
    }

    /// <summary>Guard rails, then the finalizer, then Running with the target; null when refused (Aborted).</summary>
    private async Task<ResilienceDrill?> StartAsync(ResilienceDrill drill, ResiliencePolicy? policy, DateTime now, CancellationToken ct)
    {
        var ns = drill.Metadata.NamespaceProperty;
        await _start.WaitAsync(ct);
        try
        {
            // "Another drill runs" is read from the cache: a drill this process just started must be in it.
            foreach (var other in caches.DrillsOf(ns, drill.Spec.Policy))
                if (other.Metadata.Name != drill.Metadata.Name) expectations.ThrowIfAwaited(ObjectKey.Of(other));
            var refusal = DrillPlanner.Guard(drill, policy, caches.Restores.ByIndex(RunCaches.ByPolicyIndex, ns + "/" + drill.Spec.Policy),
                caches.DrillsOf(ns, drill.Spec.Policy), now);
            var target = policy?.Status?.ActiveTargets?.FirstOrDefault();
            string? backup = null;
            if (drill.Spec.Action == DrillAction.VerifyBackup)
            {
                // Nothing is injected: the "capacity" is a backup to test.
                target = null;
                if (refusal is null)
                    (backup, refusal) = DrillPlanner.BackupToVerify(policy!, caches.Backups!.ByIndex(RunCaches.ByPolicyIndex, ns + "/" + drill.Spec.Policy));
            }
            else if (refusal is null) (_, refusal) = DrillPlanner.Capacity(drill, policy!, target!, caches.PodsOf(ns, target));
            if (refusal is not null)
            {
                await EndAsync(drill, policy, DrillPhase.Aborted, refusal.Reason, refusal.Message + "; nothing was injected", null, now, ct);
                return null;
            }
            if (drill.Metadata.Finalizers?.Contains(Finalizers.Drill) != true)
            {
                drill = await writer.Resources.SetFinalizerAsync(drill, Finalizers.Drill, true, ct);
                expectations.Expect(ObjectKey.Of(drill), caches.Drills, drill);
            }
            var (rto, defaulted) = DrillPlanner.RtoOf(policy!);
            var status = new ResilienceDrillStatus
            {
                Phase = DrillPhase.Running, Target = target, Backup = backup, RtoObjectiveSeconds = rto.TotalSeconds,
                Message = backup is null ? $"injecting {drill.Spec.Action} into {target}" : $"asking for a restore test of backup {backup}",
                Conditions = [],
            };
            ConditionSet.Set(status.Conditions, ConditionSet.Succeeded, "Unknown", Reasons.Running,
                $"RTO {GoDuration.Format(rto)}{(defaulted ? " (default: the policy declares no spec.objectives.rto)" : "")}", drill.Metadata.Generation, now);
            return await WriteAsync(drill, status, ct);
        }
        finally { _start.Release(); }
    }

    private async Task<ReconcileResult> RunAsync(ResilienceDrill drill, ResiliencePolicy? policy, DateTime now, CancellationToken ct)
    {
        var ns = drill.Metadata.NamespaceProperty;
        var status = drill.Status!;
        var target = status.Target ?? "";
        if (policy is null || policy.Metadata.DeletionTimestamp is not null)
        {
            await EndAsync(drill, policy, DrillPhase.Aborted, Reasons.PolicyDeleted,
                $"ResiliencePolicy \"{drill.Spec.Policy}\" is gone; fault removed", null, now, ct);
            return ReconcileResult.Done;
        }
        var (rto, defaulted) = DrillPlanner.RtoOf(policy);
        if (status.RtoObjectiveSeconds is { } recorded) rto = TimeSpan.FromSeconds(recorded);
        var pods = caches.PodsOf(ns, target);

        if (drill.Spec.Action == DrillAction.VerifyBackup) return await RunVerifyAsync(drill, policy, rto, now, ct);
        if (status.InjectedAt is null)
        {
            var next = Copy(status);
            if (drill.Spec.Action == DrillAction.KillPods)
            {
                var (kill, refusal) = DrillPlanner.Capacity(drill, policy, target, pods);
                if (refusal is not null)
                {
                    await EndAsync(drill, policy, DrillPhase.Aborted, refusal.Reason, refusal.Message + "; nothing was injected", null, now, ct);
                    return ReconcileResult.Done;
                }
                foreach (var pod in kill) await writer.DeletePodAsync(ns, pod, ct);
                next.Pods = [.. kill];
                next.Message = $"deleted {kill.Count} pod(s) of {target} ({string.Join(", ", kill)}); " +
                    $"waiting for the policy to serve again within {GoDuration.Format(rto)}";
            }
            else
            {
                var d = caches.Workload(ns, target);
                var marked = Annotation(d, Annotations.Drill);
                if (d is null || (marked is not null && marked != drill.Metadata.Name))
                {
                    var reason = d is null ? Reasons.NoActiveTarget : Reasons.AnotherDrillRunning;
                    var message = d is null ? $"Deployment {target} not found" : $"Deployment {target} is failed by ResilienceDrill \"{marked}\"";
                    await EndAsync(drill, policy, DrillPhase.Aborted, reason, message + "; nothing was injected", null, now, ct);
                    return ReconcileResult.Done;
                }
                if (marked is null) Expect(ObjectKey.Of(drill), await writer.FailAsync(d, drill.Metadata.Name, ct));
                next.Message = $"scaled {target} to 0 (from {d.Spec.Replicas ?? 1}); waiting for the policy to serve again within {GoDuration.Format(rto)}";
            }
            next.InjectedAt = now;
            logger.LogInformation("{Drill}: {Action} injected into {Target}", ObjectKey.Of(drill), drill.Spec.Action, target);
            drill = await WriteAsync(drill, next, ct);
            await events.RecordAsync(drill, EventRecorder.Normal, Reasons.DrillStarted, next.Message, ct);
            return ReconcileResult.After(rto);
        }

        if (DrillPlanner.Exceeds(drill, policy, pods) is { } exceeded)
        {
            await EndAsync(drill, policy, DrillPhase.Aborted, exceeded.Reason, exceeded.Message, null, now, ct);
            return ReconcileResult.Done;
        }
        if (DrillPlanner.Verdict(drill, policy, pods, rto, defaulted, now) is { } verdict)
        {
            await EndAsync(drill, policy, verdict.Phase, verdict.Reason, verdict.Message, verdict.RtoSeconds, now, ct);
            return ReconcileResult.Done;
        }
        // Serving again, or something exceeding maxUnavailable, arrives as a watch event; the RTO running out does not.
        return ReconcileResult.After(DrillPlanner.Deadline(status.InjectedAt.Value, rto) - now);
    }

    /// <summary>
    /// A VerifyBackup drill: asks for the restore test on the backup (status.verification Pending, by drill/NAME), then
    /// waits for its result (the backup's changes are mapped to this drill); Failed when it fails or outlasts the RTO.
    /// </summary>
    private async Task<ReconcileResult> RunVerifyAsync(ResilienceDrill drill, ResiliencePolicy policy, TimeSpan rto, DateTime now, CancellationToken ct)
    {
        var status = drill.Status!;
        var backup = caches.Backups!.Get(drill.Metadata.NamespaceProperty, status.Backup ?? "");
        if (backup?.Status is null)
        {
            await EndAsync(drill, policy, DrillPhase.Aborted, Reasons.NoBackupToVerify, $"backup {status.Backup} is gone", null, now, ct);
            return ReconcileResult.Done;
        }
        var by = "drill/" + drill.Metadata.Name;
        if (status.InjectedAt is null)
        {
            // Asked for once: a backup another test has taken meanwhile is not asked for again.
            if (backup.Status.Verification is null)
            {
                var asked = JobRun.Copy(backup.Status);
                asked.Verification = Verification.Request(by, now);
                if (await writer.Resources.WriteStatusAsync(backup, asked, ct) is { } updated)
                    expectations.Expect(ObjectKey.Of(drill), caches.Backups, updated);
            }
            var next = Copy(status);
            next.InjectedAt = now;
            next.Message = $"restore test of backup {backup.Metadata.Name} asked for; waiting for its result within {GoDuration.Format(rto)}";
            drill = await WriteAsync(drill, next, ct);
            await events.RecordAsync(drill, EventRecorder.Normal, Reasons.DrillStarted, next.Message, ct);
            return ReconcileResult.After(rto);
        }
        var v = backup.Status.Verification;
        var seconds = v?.Time is { } t ? DrillPlanner.RtoSeconds(status.InjectedAt.Value, t) : (double?)null;
        if (v?.Phase == VerificationPhase.Passed)
            await EndAsync(drill, policy, DrillPhase.Passed, Reasons.BackupVerified, $"backup {backup.Metadata.Name} passed its restore test: {v.Message}",
                seconds, now, ct);
        else if (v?.Phase == VerificationPhase.Failed)
            await EndAsync(drill, policy, DrillPhase.Failed, Reasons.BackupVerificationFailed,
                $"backup {backup.Metadata.Name} failed its restore test: {v.Message}", null, now, ct);
        else if (now >= DrillPlanner.Deadline(status.InjectedAt.Value, rto))
            await EndAsync(drill, policy, DrillPhase.Failed, Reasons.RtoExceeded,
                $"the restore test of backup {backup.Metadata.Name} did not finish within {GoDuration.Format(rto)} ({v?.Phase?.ToString() ?? "not started"})",
                null, now, ct);
        else return ReconcileResult.After(DrillPlanner.Deadline(status.InjectedAt.Value, rto) - now);
        return ReconcileResult.Done;
    }

    /// <summary>The verdict: status, events, metric and the policy's lastDrill, then the fault removed.</summary>
    private async Task EndAsync(ResilienceDrill drill, ResiliencePolicy? policy, DrillPhase phase, string reason, string message,
        double? rtoSeconds, DateTime now, CancellationToken ct)
    {
        var status = drill.Status is null ? new ResilienceDrillStatus() : Copy(drill.Status);
        status.Phase = phase;
        status.Message = message;
        status.RtoSeconds = rtoSeconds;
        status.RecoveredAt = phase == DrillPhase.Passed ? now : null;
        status.Conditions ??= [];
        ConditionSet.Set(status.Conditions, ConditionSet.Succeeded, phase == DrillPhase.Passed ? "True" : "False", reason, message,
            drill.Metadata.Generation, now);
        drill = await WriteAsync(drill, status, ct);
        logger.LogInformation("{Drill}: {Phase} ({Reason}): {Message}", ObjectKey.Of(drill), phase, reason, message);

        var (type, eventReason, result) = phase switch
        {
            DrillPhase.Passed => (EventRecorder.Normal, Reasons.DrillPassed, "passed"),
            DrillPhase.Failed => (EventRecorder.Warning, Reasons.DrillFailed, "failed"),
            _ => (EventRecorder.Warning, Reasons.DrillAborted, "aborted"),
        };
        var text = $"{drill.Metadata.Name}: {message}";
        await events.RecordAsync(drill, type, eventReason, message, ct);
        DrillsTotal.WithLabels(drill.Metadata.NamespaceProperty, drill.Spec.Policy, result).Inc();
        if (policy is not null && policy.Metadata.DeletionTimestamp is null)
        {
            await events.RecordAsync(policy, type, eventReason, text, ct);
            try
            {
                var record = new DrillRecord { Name = drill.Metadata.Name, Result = phase.ToString(), RtoSeconds = rtoSeconds, Time = now };
                // Nothing here reads it back; a policy status write from a stale read fails its resourceVersion test.
                await writer.SetLastDrillAsync(policy, record, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The drill's own status holds the verdict; the fault must go regardless.
                logger.LogWarning("{Drill}: could not record status.lastDrill on policy {Policy}: {Error}",
                    ObjectKey.Of(drill), policy.Metadata.Name, ex.Message);
            }
        }
        await CleanUpAsync(drill, ct);
    }

    /// <summary>Removes this drill's fault (FailTarget: replicas back, marks gone) and then its finalizer. Idempotent.</summary>
    private async Task CleanUpAsync(ResilienceDrill drill, CancellationToken ct)
    {
        var ns = drill.Metadata.NamespaceProperty;
        if (drill.Status?.Target is { Length: > 0 } target && caches.Workload(ns, target) is { } d
            && Annotation(d, Annotations.Drill) == drill.Metadata.Name)
        {
            var replicas = int.TryParse(Annotation(d, Annotations.DrillReplicas), NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : 1;
            Expect(ObjectKey.Of(drill), await writer.RestoreAsync(d, replicas, ct));
            logger.LogInformation("{Drill}: {Target} scaled back to {Replicas}", ObjectKey.Of(drill), target, replicas);
        }
        if (drill.Metadata.Finalizers?.Contains(Finalizers.Drill) == true)
            expectations.Expect(ObjectKey.Of(drill), caches.Drills, await writer.Resources.SetFinalizerAsync(drill, Finalizers.Drill, false, ct));
    }

    private async Task FinalizeAsync(ResilienceDrill drill, CancellationToken ct)
    {
        if (drill.Metadata.Finalizers?.Contains(Finalizers.Drill) != true) return;
        if (drill.Status?.Phase is DrillPhase.Running)
        {
            DrillsTotal.WithLabels(drill.Metadata.NamespaceProperty, drill.Spec.Policy, "aborted").Inc();
            var message = $"{drill.Metadata.Name}: deleted while running; fault removed";
            if (caches.Policies.Get(drill.Metadata.NamespaceProperty, drill.Spec.Policy) is { } policy)
                await events.RecordAsync(policy, EventRecorder.Warning, Reasons.DrillAborted, message, ct);
        }
        await CleanUpAsync(drill, ct);
    }

    private async Task<ResilienceDrill> WriteAsync(ResilienceDrill drill, ResilienceDrillStatus status, CancellationToken ct)
    {
        if (await writer.Resources.WriteStatusAsync(drill, status, ct) is not { } updated) return drill;
        expectations.Expect(ObjectKey.Of(drill), caches.Drills, updated);
        return updated;
    }

    private void Expect(ObjectKey key, IKubernetesObject<V1ObjectMeta> written)
    {
        if (written is V1StatefulSet set) expectations.Expect(key, caches.StatefulSets, set);
        else if (written is V1Deployment d) expectations.Expect(key, caches.Deployments, d);
    }

    private static string? Annotation(V1Deployment? d, string key) =>
        d?.Metadata.Annotations is { } a && a.TryGetValue(key, out var v) ? v : null;

    private static ResilienceDrillStatus Copy(ResilienceDrillStatus s) => new()
    {
        Phase = s.Phase, Target = s.Target, Backup = s.Backup, Pods = s.Pods is null ? null : [.. s.Pods], InjectedAt = s.InjectedAt,
        RecoveredAt = s.RecoveredAt,
        RtoSeconds = s.RtoSeconds, RtoObjectiveSeconds = s.RtoObjectiveSeconds, Message = s.Message,
        Conditions = s.Conditions is null ? null : [.. s.Conditions],
    };
}
