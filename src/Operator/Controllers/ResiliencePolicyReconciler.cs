using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Prometheus;
using ResilienceOperator.Entities;
using ResilienceOperator.Health;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>The caches the reconciler reads.</summary>
internal sealed record PolicyCaches(
    Store<ResiliencePolicy> Policies,
    Store<V1Deployment> Deployments,
    Store<V1Service> Services,
    Store<V1HorizontalPodAutoscaler> Hpas,
    Store<PodDisruptionBudgetObject> Pdbs,
    Store<ResilienceBackup> Backups,
    Store<ResilienceRestore> Restores,
    Store<ScaledObject> ScaledObjects,
    PolicyShard Shard)
{
    /// <summary>StatefulSet targets.</summary>
    public Store<V1StatefulSet> StatefulSets { get; init; } = new();
    /// <summary>The operator's Jobs (failover hooks among them).</summary>
    public Store<V1Job> Jobs { get; init; } = new();
    /// <summary>Targets of either kind.</summary>
    public WorkloadStores Workloads => new(Deployments, StatefulSets);

    /// <summary>ScaledObjects by namespace/Deployment they scale (the store stays empty without KEDA).</summary>
    public const string ScaledObjectTargetIndex = "scaledobject-target";
    public const string HpaTargetIndex = "hpa-target";
    public const string PolicyTargetIndex = "policy-target";
    public const string PolicyServiceIndex = "policy-service";
    public const string OwnerIndex = "owner";

    /// <summary>
    /// The <see cref="PolicyTargetIndex"/> values of a policy: its targets, and the Deployments graceful
    /// degradation sheds or falls back to (a change to any of them is a reason to look again).
    /// </summary>
    public static IEnumerable<string> TargetsOf(ResiliencePolicy p) => (p.Spec.Targets ?? []).Select(t => t.Name)
        .Concat(ResiliencePolicyReconciler.DegradationNames(p)).Distinct(StringComparer.Ordinal).Select(n => p.Metadata.NamespaceProperty + "/" + n);
}

/// <summary>
/// Thin glue: read the caches, ask <see cref="PolicyPlanner"/>, apply the plan, write status.
/// </summary>
internal sealed class ResiliencePolicyReconciler(
    PolicyCaches caches,
    HealthProber prober,
    ClusterWriter writer,
    IEventRecorder events,
    CacheExpectations expectations,
    TimeProvider time,
    ILogger<ResiliencePolicyReconciler> logger) : IReconciler
{
    private static readonly Counter Failovers = Metrics.CreateCounter("resilience_failovers_total",
        "Traffic switches by reason (Failover, Failback, ManualFailback).", "namespace", "policy", "reason");
    private static readonly Histogram FailoverSeconds = Metrics.CreateHistogram("resilience_failover_seconds",
        "Seconds from the first failed check of the active target to the Service switch.",
        new HistogramConfiguration { LabelNames = ["namespace", "policy"], Buckets = [0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144] });
    private static readonly Counter HookRuns = Metrics.CreateCounter("resilience_failover_hook_runs_total",
        "Failover hook runs (fence, promote) that finished, by result (succeeded, failed, timeout).", "namespace", "policy", "hook", "result");
    private static readonly Histogram HookSeconds = Metrics.CreateHistogram("resilience_failover_hook_duration_seconds",
        "Seconds failover hook runs (fence, promote) took, per namespace.",
        new HistogramConfiguration { LabelNames = ["namespace", "hook"], Buckets = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800] });
    private static readonly PolicySeries CircuitOpen = new("resilience_circuit_open",
        "1 while the policy's failover circuit breaker is open.");
    private static readonly PolicySeries PolicyReady = new("resilience_policy_ready",
        "1 when the policy's Ready condition is True.");
    private static readonly PolicySeries Rpo = new("resilience_rpo_seconds",
        "Measured recovery point: seconds since the newest completed backup completed.");
    private static readonly PolicySeries TargetActive = new("resilience_target_active",
        "1 while the target receives the policy's traffic (the Service selects it), 0 otherwise.", extraLabel: "target");
    private static readonly PolicySeries RpoObjective = new("resilience_rpo_objective_seconds",
        "The policy's declared recovery point objective (spec.objectives.rpo) in seconds; absent when none is declared.");
    private static readonly PolicySeries Degraded = new("resilience_degraded",
        "1 while the policy is degraded (ready capacity below spec.degradation.whenReadyPercentBelow, or no healthy target).");
    private static readonly PolicySeries ShedDeployments = new("resilience_shed_deployments",
        "Deployments of spec.degradation.shed currently shed.");
    private static readonly PolicySeries LastRto = new("resilience_last_rto_seconds",
        "Last measured recovery time: seconds from the last passing check of the failed active target to serving again.");

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct)
    {
        var policy = caches.Policies.Get(key);
        // Deleted, or (sharded) no longer this shard's: a policy relabelled away arrives as a watch DELETED and is
        // only let go — not probed, no series, no write. Its finalizer, Service and objects are the new shard's.
        if (policy is null)
        {
            expectations.Forget(key);
            prober.Forget(key);
            ForgetSeries(key);
            return ReconcileResult.Done;
        }
        // Read-your-writes: what the last reconcile wrote (status, scale, selector, created runs)
        // must be in the caches before the next decision, or it would be made on the state before it.
        expectations.ThrowIfAwaited(key);
        if (policy.Metadata.DeletionTimestamp is not null)
        {
            await FinalizeAsync(policy, ct);
            return ReconcileResult.Done;
        }
        // The finalizer goes on before any change outside the policy itself.
        if (policy.Metadata.Finalizers?.Contains(Finalizers.Policy) != true)
        {
            policy = await writer.Resources.SetFinalizerAsync(policy, Finalizers.Policy, true, ct);
            expectations.Expect(key, caches.Policies, policy);
        }

        var now = time.GetUtcNow().UtcDateTime;
        var previousTargets = policy.Status?.Targets;
        var observation = Observe(policy, key, now);
        var plan = PolicyPlanner.Plan(observation);
        // Invalid: not probed until a watch event brings the policy back here; valid: probed (again).
        if (plan.Invalid) prober.Forget(key);
        else prober.Resume(key);

        try
        {
            await ApplyAsync(policy, observation, plan, ct);
        }
        catch (ForbiddenException ex)
        {
            // A missing permission is reported where people look, and retried with backoff.
            ConditionSet.Set(plan.Status.Conditions!, ConditionSet.Ready, "False", Reasons.Forbidden, ex.Message, policy.Metadata.Generation, now);
            ProgressConditions.Set(plan, observation);
            await WriteStatusAsync(policy, plan.Status, ct);
            await events.RecordAsync(policy, EventRecorder.Warning, Reasons.Forbidden, ex.Message, ct);
            throw new RequeueException(ex.Message);
        }

        await EmitEventsAsync(policy, plan, ct);
        policy = await WriteStatusAsync(policy, plan.Status, ct);
        // Only once the status records the manual failback is the request spent: a status write
        // that fails would otherwise forget it and move traffic back.
        if (plan.ClearFailbackAnnotation && !plan.Invalid)
            expectations.Expect(key, caches.Policies, await writer.Resources.RemoveAnnotationAsync(policy, Annotations.Failback, ct));
        var ns = key.Namespace;
        CircuitOpen.Set(ns, key.Name, plan.Status.Failover?.Circuit == "Open" ? 1 : 0);
        PolicyReady.Set(ns, key.Name, ConditionSet.IsTrue(plan.Status.Conditions, ConditionSet.Ready) ? 1 : 0);
        Degraded.Set(ns, key.Name, ConditionSet.IsTrue(plan.Status.Conditions, ConditionSet.Degraded) ? 1 : 0);
        ShedDeployments.Set(ns, key.Name, plan.Status.Degradation?.Shed?.Count ?? 0);
        if (plan.Status.Objectives?.RpoSeconds is { } rpo) Rpo.Set(ns, key.Name, rpo);
        if (plan.Status.Objectives?.LastRtoSeconds is { } rto) LastRto.Set(ns, key.Name, rto);
        // From status too, so the series is there again after a restart (the alert on its age needs it).
        if (plan.Status.Backup?.LastVerifiedTime is { } verified) BackupReconciler.SetLastVerified(ns, key.Name, verified);
        if (policy.Spec.Objectives?.Rpo is { } rpoText && GoDuration.TryParse(rpoText, out var rpoObjective))
            RpoObjective.Set(ns, key.Name, rpoObjective.TotalSeconds);
        else
            RpoObjective.Remove(ns, key.Name);
        foreach (var t in plan.Status.Targets ?? [])
            TargetActive.Set(ns, key.Name, t.Name, plan.Status.ActiveTargets?.Contains(t.Name) == true ? 1 : 0);
        // A target dropped from the spec: its series goes (the previous status names it, no scan of all series).
        foreach (var gone in (previousTargets ?? []).Where(o => plan.Status.Targets?.Any(t => t.Name == o.Name) != true))
            TargetActive.Remove(ns, key.Name, gone.Name);
        // After the status write: the decision that finished a hook run records its next step, so no later one counts it again.
        CountHookRuns(ns, key.Name, plan.HookRuns);
        var last = plan.Status.Failover?.Last;
        if (last is not null && last.Time == now)
        {
            Failovers.WithLabels(ns, key.Name, last.Reason).Inc();
            if (last.Reason == Reasons.Failover && last.DetectionSeconds is { } d && last.SwitchSeconds is { } s)
                FailoverSeconds.WithLabels(ns, key.Name).Observe(d + s);
        }
        return plan.RequeueAfter is { } after ? ReconcileResult.After(after) : ReconcileResult.Done;
    }

    /// <summary>Counts finished fence and promote hook runs: per policy, and their durations per namespace.</summary>
    internal static void CountHookRuns(string ns, string policy, IEnumerable<HookRun> runs)
    {
        foreach (var run in runs)
        {
            HookRuns.WithLabels(ns, policy, run.Hook, run.Result).Inc();
            HookSeconds.WithLabels(ns, run.Hook).Observe(run.Seconds);
        }
    }

    /// <summary>A deleted policy leaves no series behind to alert on.</summary>
    internal static void ForgetSeries(ObjectKey key)
    {
        foreach (var series in new[] { CircuitOpen, PolicyReady, Degraded, ShedDeployments, Rpo, RpoObjective, LastRto, TargetActive })
            series.RemovePolicy(key.Namespace, key.Name);
        BackupReconciler.LastVerified.RemoveLabelled(key.Namespace, key.Name);
        foreach (var labels in HookRuns.GetAllLabelValues().Where(l => l[0] == key.Namespace && l[1] == key.Name).ToList())
            HookRuns.RemoveLabelled(labels);
        BackupReconciler.ForgetSeries(key);
    }

    private Observation Observe(ResiliencePolicy policy, ObjectKey key, DateTime now)
    {
        var ns = key.Namespace;
        var deployments = new Dictionary<string, V1Deployment>();
        var hpas = new Dictionary<string, V1HorizontalPodAutoscaler>();
        var scaledObjects = new Dictionary<string, IReadOnlyList<ScaledObject>>();
        foreach (var t in policy.Spec.Targets ?? [])
        {
            if (caches.Workloads.Find(ns, t.Name, t.Kind) is { } d) deployments[t.Name] = d;
            if (caches.Hpas.ByIndex(PolicyCaches.HpaTargetIndex, ns + "/" + t.Name) is [var hpa, ..]) hpas[t.Name] = hpa;
            if (caches.ScaledObjects.ByIndex(PolicyCaches.ScaledObjectTargetIndex, ns + "/" + t.Name) is { Count: > 0 } so) scaledObjects[t.Name] = so;
        }
        // Graceful degradation: the shed Deployments (listed now, or still shed per status) and the fallback.
        foreach (var name in DegradationNames(policy))
            if (!deployments.ContainsKey(name) && caches.Deployments.Get(ns, name) is { } d) deployments[name] = d;
        var serviceName = policy.Spec.Service?.Name ?? "";
        var service = caches.Services.Get(ns, serviceName);
        // The oldest policy naming a Service owns it; later ones are told so.
        var claimant = caches.Policies.ByIndex(PolicyCaches.PolicyServiceIndex, ns + "/" + serviceName)
            .Where(p => p.Metadata.Name != policy.Metadata.Name && p.Metadata.DeletionTimestamp is null)
            .Where(p => (p.Metadata.CreationTimestamp, p.Metadata.Name).CompareTo((policy.Metadata.CreationTimestamp, policy.Metadata.Name)) < 0)
            .Select(p => p.Metadata.Name).FirstOrDefault();
        // Sharded, a policy of another shard is not in this cache: the Service's own record of who steers it tells.
        if (claimant is null && caches.Shard.IsSharded && service?.Metadata.Annotations?.TryGetValue(Annotations.SteeredBy, out var steeredBy) == true
            && steeredBy != policy.Metadata.Name && caches.Policies.Get(ns, steeredBy) is null)
            claimant = steeredBy;
        var byPolicy = ns + "/" + policy.Metadata.Name;
        return new Observation(policy, deployments, service, hpas, prober.Verdicts(policy), claimant, now)
        {
            Backups = caches.Backups.ByIndex(RunCaches.ByPolicyIndex, byPolicy),
            Restores = caches.Restores.ByIndex(RunCaches.ByPolicyIndex, byPolicy),
            OwnedPdbs = caches.Pdbs.ByIndex(PolicyCaches.OwnerIndex, policy.Metadata.Uid),
            // The policy owns its hook Jobs: read by owner, not by scanning the namespace's Jobs.
            HookJobs = [.. caches.Jobs.ByIndex(RunCaches.OwnerIndex, policy.Metadata.Uid).Where(j => j.Metadata.Labels?.ContainsKey(Labels.Hook) == true)],
            ScaledObjects = scaledObjects,
            PodGates = prober.PlannedGates(key),
            ObserverSuspect = prober.ObserverSuspect,
        };
    }

    /// <summary>The Deployments of spec.degradation (shed and fallback) and those status says are still shed.</summary>
    internal static IEnumerable<string> DegradationNames(ResiliencePolicy policy) =>
        (policy.Spec.Degradation?.Shed ?? []).Select(s => s.Name)
            .Concat(policy.Spec.Degradation?.Fallback is { Length: > 0 } f ? [f] : [])
            .Concat((policy.Status?.Degradation?.Shed ?? []).Select(s => s.Name))
            .Where(n => !string.IsNullOrEmpty(n))
            .Distinct(StringComparer.Ordinal);

    private async Task ApplyAsync(ResiliencePolicy policy, Observation o, Plan plan, CancellationToken ct)
    {
        // DryRun: the plan is reported in status.plannedActions, never applied.
        if (plan.Invalid || plan.DryRun) return;
        // KEDA: paused before anything is scaled, so the autoscaler cannot undo a standby's scale-up.
        foreach (var a in plan.Autoscalers.Where(a => a.Pause)) await SetPausedAsync(policy, a, ct);
        foreach (var s in plan.Scale)
        {
            logger.LogInformation("{Policy}: scaling {Target} to {Replicas} ({Why})", ObjectKey.Of(policy), s.Target, s.Replicas, s.Reason);
            ExpectWorkload(ObjectKey.Of(policy), await writer.ScaleWorkloadAsync(o.Deployments[s.Target], s.Replicas, ct));
        }
        foreach (var s in plan.ShedActions)
        {
            logger.LogInformation("{Policy}: {Verb} {Deployment} to {Replicas} ({Why})", ObjectKey.Of(policy),
                s.PreviousReplicas is null ? "giving back" : "shedding", s.Deployment, s.Replicas, s.Reason);
            expectations.Expect(ObjectKey.Of(policy), caches.Deployments,
                await writer.ShedAsync(o.Deployments[s.Deployment], s.Replicas, s.PreviousReplicas, ct));
        }
        foreach (var h in plan.HpaMinReplicas) await writer.SetHpaMinAsync(o.Hpas[h.Target], h.MinReplicas, ct);
        foreach (var t in plan.Templates)
        {
            var d = o.Deployments[t.Target];
            if (plan.Scale.Any(s => s.Target == t.Target)) throw new RequeueException("template change waits for the scale to land");
            ExpectWorkload(ObjectKey.Of(policy), await writer.PatchWorkloadTemplateAsync(d, t.ReadinessGate, t.Spread, d.Spec.Selector.MatchLabels, ct));
        }
        foreach (var pdb in plan.Pdbs)
        {
            if (PolicyPlanner.PdbUpToDate(caches.Pdbs.Get(policy.Metadata.NamespaceProperty, pdb.Name), pdb)) continue;
            await writer.ApplyPdbAsync(policy, pdb, ct);
        }
        foreach (var stale in plan.DeletePdbs)
            await writer.DeletePdbAsync(policy.Metadata.NamespaceProperty, stale, ct);
        foreach (var b in plan.CreateBackups)
        {
            logger.LogInformation("{Policy}: backup {Backup} for {Slot:O} to {Location}", ObjectKey.Of(policy), b.Name, b.Slot, b.Location);
            if (await writer.CreateBackupAsync(policy, b, ct) is { } created) expectations.Expect(ObjectKey.Of(policy), caches.Backups, created, created: true);
        }
        foreach (var name in plan.DeleteBackups)
        {
            logger.LogInformation("{Policy}: retention deletes backup {Backup}", ObjectKey.Of(policy), name);
            await writer.DeleteBackupAsync(policy.Metadata.NamespaceProperty, name, ct);
        }
        foreach (var r in plan.CreateRestores)
        {
            logger.LogInformation("{Policy}: restore {Restore} of {Target} from {Backup}", ObjectKey.Of(policy), r.Name, r.Target, r.Backup);
            if (await writer.CreateRestoreAsync(policy, r, ct) is { } created)
                expectations.Expect(ObjectKey.Of(policy), caches.Restores, created, created: true);
        }
        // Failover hooks: the Job of the step under way (a 409 is the Job made before a restart), and those of older failovers deleted.
        foreach (var job in plan.HookJobs)
        {
            logger.LogInformation("{Policy}: {Hook} hook Job {Job}", ObjectKey.Of(policy), job.Metadata.Labels[Labels.Hook], job.Metadata.Name);
            if (await writer.CreateJobAsync(job, ct) is { } created) expectations.Expect(ObjectKey.Of(policy), caches.Jobs, created, created: true);
        }
        foreach (var name in plan.DeleteJobs)
        {
            logger.LogInformation("{Policy}: hook Job {Job} of an earlier failover deleted", ObjectKey.Of(policy), name);
            await writer.DeleteJobAsync(policy.Metadata.NamespaceProperty, name, ct);
        }
        foreach (var v in plan.VerifyBackups)
        {
            // Asked for on the backup itself; its controller runs the test step by step.
            if (caches.Backups.Get(policy.Metadata.NamespaceProperty, v.Backup) is not { Status: { } current } backup) continue;
            logger.LogInformation("{Policy}: restore test of backup {Backup} ({By})", ObjectKey.Of(policy), v.Backup, v.RequestedBy);
            var asked = JobRun.Copy(current);
            asked.Verification = Verification.Request(v.RequestedBy, o.Now);
            if (await writer.Resources.WriteStatusAsync(backup, asked, ct) is { } updated) expectations.Expect(ObjectKey.Of(policy), caches.Backups, updated);
        }
        if (plan.Selector is not null)
        {
            logger.LogInformation("{Policy}: Service {Service} selector -> {Selector}", ObjectKey.Of(policy), o.Service!.Metadata.Name,
                string.Join(",", plan.Selector.Select(kv => kv.Key + "=" + kv.Value)));
            expectations.Expect(ObjectKey.Of(policy), caches.Services, await writer.SteerServiceAsync(o.Service!, plan.Selector, policy.Metadata.Name, ct));
        }
        foreach (var a in plan.Autoscalers.Where(a => !a.Pause)) await SetPausedAsync(policy, a, ct);
    }

    private void ExpectWorkload(ObjectKey key, IKubernetesObject<V1ObjectMeta> written)
    {
        if (written is V1StatefulSet set) expectations.Expect(key, caches.StatefulSets, set);
        else if (written is V1Deployment d) expectations.Expect(key, caches.Deployments, d);
    }

    private async Task SetPausedAsync(ResiliencePolicy policy, AutoscalerPauseAction a, CancellationToken ct)
    {
        if (caches.ScaledObjects.Get(policy.Metadata.NamespaceProperty, a.Name) is not { } so) return;
        logger.LogInformation("{Policy}: ScaledObject {Name} of {Target} {Verb} ({Why})",
            ObjectKey.Of(policy), a.Name, a.Target, a.Pause ? "paused" : "resumed", a.Reason);
        expectations.Expect(ObjectKey.Of(policy), caches.ScaledObjects, await writer.SetScaledObjectPausedAsync(so, a.Pause, ct));
    }

    private async Task EmitEventsAsync(ResiliencePolicy policy, Plan plan, CancellationToken ct)
    {
        // A standing problem is told once, when it starts, not at every reconcile.
        var oldReady = ConditionSet.Find(policy.Status?.Conditions, ConditionSet.Ready);
        foreach (var e in plan.Events)
        {
            if (e.Reason == oldReady?.Reason && e.Message == oldReady.Message) continue;
            await events.RecordAsync(policy, e.Type, e.Reason, e.Message, ct);
        }
    }

    private async Task<ResiliencePolicy> WriteStatusAsync(ResiliencePolicy policy, ResiliencePolicyStatus status, CancellationToken ct)
    {
        // A healthy policy writes nothing: the writer compares the status as the wire sees it.
        if (await writer.Resources.WriteStatusAsync(policy, status, ct) is not { } updated) return policy;
        expectations.Expect(ObjectKey.Of(policy), caches.Policies, updated);
        return updated;
    }

    private async Task FinalizeAsync(ResiliencePolicy policy, CancellationToken ct)
    {
        if (policy.Metadata.Finalizers?.Contains(Finalizers.Policy) != true) return;
        var ns = policy.Metadata.NamespaceProperty;
        var svc = caches.Services.Get(ns, policy.Spec.Service?.Name ?? "");
        if (svc?.Metadata.Annotations?.TryGetValue(Annotations.SteeredBy, out var by) == true && by == policy.Metadata.Name)
        {
            await writer.RestoreServiceAsync(svc, ct);
            await events.RecordAsync(policy, EventRecorder.Normal, Reasons.SelectorRestored, $"Service {svc.Metadata.Name} selector restored", ct);
        }
        foreach (var t in policy.Spec.Targets ?? [])
        {
            // Our readiness gate would keep new pods NotReady forever once nobody sets it.
            var d = caches.Workloads.Get(ns, t.Name, t.Kind);
            if (d?.Spec.Template.Spec.ReadinessGates?.Any(g => g.ConditionType == PodConditions.Healthy) == true)
                await writer.PatchWorkloadTemplateAsync(d, false, null, d.Spec.Selector.MatchLabels, ct);
        }
        foreach (var pdb in caches.Pdbs.ByIndex(PolicyCaches.OwnerIndex, policy.Metadata.Uid))
            await writer.DeletePdbAsync(ns, pdb.Metadata.Name, ct);
        // Shed Deployments get their replicas back: nobody would give them back afterwards.
        foreach (var name in DegradationNames(policy))
        {
            var d = caches.Deployments.Get(ns, name);
            if (d is null || DegradationPlanner.PreviousReplicas(d) is not { } previous) continue;
            expectations.Expect(ObjectKey.Of(policy), caches.Deployments, await writer.ShedAsync(d, previous, null, ct));
            await events.RecordAsync(policy, EventRecorder.Normal, Reasons.Unshed,
                $"{name} scaled back from {d.Spec.Replicas ?? 1} to {previous}: the policy is deleted", ct);
        }
        // A KEDA pause the operator set must not outlive the policy; one a person set stays.
        foreach (var t in policy.Spec.Targets ?? [])
        {
            foreach (var so in caches.ScaledObjects.ByIndex(PolicyCaches.ScaledObjectTargetIndex, ns + "/" + t.Name).Where(s => s.PausedByOperator))
            {
                await writer.SetScaledObjectPausedAsync(so, false, ct);
                await events.RecordAsync(policy, EventRecorder.Normal, Reasons.AutoscalerResumed,
                    $"ScaledObject {so.Metadata.Name} of {t.Name} resumed: the policy is deleted", ct);
            }
        }
        // A restore test under way: the garbage collector takes its backup and scratch StatefulSet with the policy, but not
        // the claims the StatefulSet controller made for it, which nothing owns.
        foreach (var b in caches.Backups.ByIndex(RunCaches.ByPolicyIndex, ns + "/" + policy.Metadata.Name))
        {
            if (b.Status?.Verification is not { } v || v.ScratchRemoved == true) continue;
            var scratch = v.Scratch ?? Verification.ScratchName(b.Metadata.Name);
            if (caches.StatefulSets.Get(ns, scratch)?.Metadata.Labels?.ContainsKey(Labels.Scratch) != true) continue;
            var claims = await writer.DeleteScratchStatefulSetAsync(ns, scratch, b.Metadata.Name, ct);
            logger.LogInformation("{Policy}: restore test of {Backup} given up: scratch copy {Scratch} removed with {Claims} PersistentVolumeClaim(s)",
                ObjectKey.Of(policy), b.Metadata.Name, scratch, claims);
        }
        await writer.Resources.SetFinalizerAsync(policy, Finalizers.Policy, false, ct);
        prober.Forget(ObjectKey.Of(policy));
        logger.LogInformation("{Policy}: finalized", ObjectKey.Of(policy));
    }
}
