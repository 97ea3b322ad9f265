using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

// Fence and promote (spec.failover.hooks, spec.failover.fencing): a failover or failback that needs
// them goes through recorded steps, Fence → Promote → Switch, in status.failover.pending. Each step
// is finished (its time recorded) before the next begins, so a restarted operator resumes the step
// it was at and never repeats a finished one; the hook Jobs are named from the failover's number,
// so a restart before the status write finds the Job it made instead of making a second one.
internal static partial class PolicyPlanner
{
    public const string StepFence = "Fence";
    public const string StepPromote = "Promote";
    public const string StepSwitch = "Switch";
    public const string HookFence = "fence";
    public const string HookPromote = "promote";
    public const string HookSucceeded = "succeeded";
    public const string HookFailed = "failed";
    public const string HookTimeout = "timeout";
    public const string FromTargetEnv = "FROM_TARGET";
    public const string ToTargetEnv = "TO_TARGET";

    /// <summary>
    /// Advances the stepped traffic move from <paramref name="from"/> to <paramref name="to"/>: true
    /// when the Service may switch now; false with why not in <paramref name="blocked"/>.
    /// </summary>
    private static bool AdvanceSteps(Observation o, EffectiveSpec spec, Plan plan, string from, string to, string reason,
        Func<string, bool> receivable, out (string? Reason, string Message) blocked)
    {
        blocked = (null, "");
        var hooks = spec.Hooks;
        var fo = plan.Status.Failover!;
        var now = o.Now;
        var p = fo.Pending;
        // A new move; a failover after a stopped failback (or the other way round) is a new move too.
        if (p is null || p.Step is null || p.From != from || p.To != to || (p.FailedStep is not null && p.Reason != reason))
        {
            var number = (fo.SteppedFailovers ?? 0) + 1;
            fo.SteppedFailovers = number;
            // A cold standby's wait (no step yet) is the same failover: its detection times carry over.
            var waited = p is { Step: null } && p.From == from && p.To == to ? p : null;
            p = new PendingFailover
            {
                From = from, To = to, Reason = reason, Step = StepFence, StepStartedAt = now, Generation = o.Policy.Metadata.Generation,
                FirstFailureTime = waited?.FirstFailureTime ?? (reason == Reasons.Failover ? o.Health[from].FirstFailureTime : null),
                DetectedAt = waited?.DetectedAt ?? (reason == Reasons.Failover ? o.Health[from].LastTransitionTime : now),
                FenceJob = hooks.FenceTemplate is null ? null : HookJobName(o.Policy.Metadata.Name, HookFence, number),
                PromoteJob = hooks.PromoteTemplate is null ? null : HookJobName(o.Policy.Metadata.Name, HookPromote, number),
            };
            fo.Pending = p;
            plan.Events.Add(new PlannedEvent("Normal", Reasons.FailoverStarted,
                $"{Describe(reason)} from {from} to {to} started: fence {from}, promote {to}, then switch the Service"));
        }
        else
        {
            // A copy: the pending record of the cached policy is not changed in place.
            p = Copy(p);
            fo.Pending = p;
        }
        if (p.FailedStep is not null)
        {
            blocked = (p.FailedStep == StepFence ? Reasons.FenceFailed : Reasons.PromoteFailed, p.Message ?? "");
            return false;
        }

        if (p.Step == StepFence)
        {
            var (done, failure) = Fence(o, spec, plan, p);
            if (failure is not null) return Fail(o, spec, plan, p, StepFence, failure, out blocked);
            if (!done)
            {
                blocked = (Reasons.Fencing, $"{Describe(p.Reason)} to {to}: fencing {from} before traffic moves");
                return false;
            }
            p.Step = StepPromote;
            p.StepStartedAt = now;
        }
        if (p.Step == StepPromote)
        {
            if (hooks.PromoteTemplate is not null)
            {
                var (done, failure) = RunHook(o, plan, p, HookPromote, p.PromoteJob!, hooks.PromoteTemplate, hooks.PromoteTimeout);
                if (failure is not null) return Fail(o, spec, plan, p, StepPromote, failure, out blocked);
                if (done is null)
                {
                    blocked = (Reasons.Promoting, $"{Describe(p.Reason)} from {from}: promoting {to} before traffic moves");
                    return false;
                }
                p.PromotedAt = done;
            }
            p.Step = StepSwitch;
            p.StepStartedAt = now;
        }
        if (!receivable(to))
        {
            blocked = (Reasons.WaitingForStandby, $"{from} fenced and {to} promoted; waiting for {to} to pass its checks before the switch");
            plan.RequeueNoLaterThan(spec.Interval);
            return false;
        }
        return true;
    }

    /// <summary>The fence step: (done, null), (false, null) while under way, or (_, why it failed).</summary>
    private static (bool Done, string? Failure) Fence(Observation o, EffectiveSpec spec, Plan plan, PendingFailover p)
    {
        var hooks = spec.Hooks;
        var from = p.From;
        var workload = o.Deployments[from];
        if (hooks.FenceTemplate is not null)
        {
            var (done, failure) = RunHook(o, plan, p, HookFence, p.FenceJob!, hooks.FenceTemplate, hooks.FenceTimeout);
            if (done is not null) p.FencedAt = done;
            return (done is not null, failure);
        }
        if (hooks.FenceScaleToZero)
        {
            var fenced = plan.Status.Failover!.Fenced ?? [];
            if (!fenced.Contains(from)) plan.Status.Failover!.Fenced = [.. fenced, from];
            if ((workload.Spec.Replicas ?? 1) != 0 && plan.Scale.All(s => s.Target != from))
            {
                plan.Scale.Add(new ScaleAction(from, 0, $"fenced: scaled to 0 before traffic moves to {p.To}"));
                plan.Events.Add(new PlannedEvent("Normal", Reasons.Fenced,
                    $"{from} scaled from {workload.Spec.Replicas ?? 1} to 0: fence before traffic moves to {p.To}"));
            }
            if ((workload.Spec.Replicas ?? 1) == 0 && ReadyPods(o, from) == 0)
            {
                p.FencedAt = o.Now;
                plan.HookRuns.Add(new HookRun(HookFence, HookSucceeded, Seconds(p.StepStartedAt, o.Now)));
                return (true, null);
            }
            if (TimedOut(o, p, hooks.FenceTimeout, plan) is { } late)
            {
                plan.HookRuns.Add(new HookRun(HookFence, HookTimeout, Seconds(p.StepStartedAt, o.Now)));
                return (false, $"fence of {from} (ScaleToZero) timed out after {GoDuration.Format(hooks.FenceTimeout)}: " +
                    $"{ReadyPods(o, from)} pod(s) still ready{late}");
            }
            plan.RequeueNoLaterThan(TimeSpan.FromSeconds(1));
            return (false, null);
        }
        // No fence hook: under Required, traffic waits until the old target has no ready pod.
        if (hooks.Fencing == FencingMode.Required && ReadyPods(o, from) > 0)
        {
            plan.RequeueNoLaterThan(spec.Interval);
            return (false, null);
        }
        if (hooks.Fencing == FencingMode.Required) p.FencedAt = o.Now;
        return (true, null);
    }

    /// <summary>
    /// One hook Job: created when it is not there; (completion time, null) once it succeeded,
    /// (null, null) while it runs, (null, why) when it failed or ran past its timeout.
    /// </summary>
    private static (DateTime? Done, string? Failure) RunHook(Observation o, Plan plan, PendingFailover p, string hook, string name,
        V1PodTemplateSpec template, TimeSpan timeout)
    {
        var job = o.HookJobs.FirstOrDefault(j => j.Metadata.Name == name);
        if (job is null)
        {
            plan.HookJobs.Add(BuildHookJob(o.Policy, hook, name, template, p.From, p.To, timeout));
            plan.RequeueNoLaterThan(timeout);
            return (null, null);
        }
        // How long it ran: from the Job's start (else the step's) to its end (else now).
        var started = job.Status?.StartTime ?? p.StepStartedAt;
        if (JobRun.Succeeded(job))
        {
            var done = job.Status?.CompletionTime ?? o.Now;
            plan.HookRuns.Add(new HookRun(hook, HookSucceeded, Seconds(started, done)));
            return (done, null);
        }
        if (JobRun.Failed(job))
        {
            var failed = job.Status?.Conditions?.FirstOrDefault(c => c.Type == "Failed" && c.Status == "True");
            var why = failed is { } c ? $"{c.Reason}{(string.IsNullOrEmpty(c.Message) ? "" : ": " + c.Message)}" : Reasons.JobFailed;
            // Kubernetes ends the Job at the hook's timeout (activeDeadlineSeconds): that is a timeout, not a failure of the hook.
            var result = failed?.Reason == "DeadlineExceeded" ? HookTimeout : HookFailed;
            plan.HookRuns.Add(new HookRun(hook, result, Seconds(started, failed?.LastTransitionTime ?? o.Now)));
            return (null, $"{hook} Job {name} failed ({why})");
        }
        if (TimedOut(o, p, timeout, plan) is { } late)
        {
            plan.HookRuns.Add(new HookRun(hook, HookTimeout, Seconds(started, o.Now)));
            return (null, $"{hook} Job {name} timed out after {GoDuration.Format(timeout)}{late}");
        }
        return (null, null);
    }

    private static double Seconds(DateTime? from, DateTime to) => from is { } f && to > f ? Math.Round((to - f).TotalSeconds, 3) : 0;

    /// <summary>Null while the step is within <paramref name="timeout"/> (a requeue is planned for its end); else a suffix for the message.</summary>
    private static string? TimedOut(Observation o, PendingFailover p, TimeSpan timeout, Plan plan)
    {
        var due = (p.StepStartedAt ?? o.Now) + timeout;
        if (o.Now >= due) return "";
        plan.RequeueNoLaterThan(due - o.Now);
        return null;
    }

    /// <summary>A hook failed or timed out: the move stops there, traffic stays, and it counts for the circuit breaker.</summary>
    private static bool Fail(Observation o, EffectiveSpec spec, Plan plan, PendingFailover p, string step, string failure,
        out (string? Reason, string Message) blocked)
    {
        var fo = plan.Status.Failover!;
        p.FailedStep = step;
        p.FailedAt = o.Now;
        p.Message = $"{Describe(p.Reason)} from {p.From} to {p.To} stopped at the {step.ToLowerInvariant()} step, traffic stays on {p.From}: {failure}";
        var reason = step == StepFence ? Reasons.FenceFailed : Reasons.PromoteFailed;
        blocked = (reason, p.Message);
        plan.Events.Add(new PlannedEvent("Warning", reason, p.Message));
        fo.RecentFailovers = [.. (fo.RecentFailovers ?? []).Where(t => o.Now - t < spec.Window), o.Now];
        if (fo.Circuit == "HalfOpen") { fo.Circuit = "Open"; fo.CircuitOpenedAt = o.Now; }
        return false;
    }

    /// <summary>
    /// DryRun: the hooks a stepped move would run, as the Jobs (and the ScaleToZero) it would make,
    /// all at once — a dry run never waits for a Job.
    /// </summary>
    private static void PlanHooksDryRun(Observation o, EffectiveSpec spec, Plan plan, string from, string to)
    {
        var number = (plan.Status.Failover?.SteppedFailovers ?? 0) + 1;
        var hooks = spec.Hooks;
        if (hooks.FenceTemplate is not null)
            plan.HookJobs.Add(BuildHookJob(o.Policy, HookFence, HookJobName(o.Policy.Metadata.Name, HookFence, number), hooks.FenceTemplate, from, to,
                hooks.FenceTimeout));
        else if (hooks.FenceScaleToZero && (o.Deployments[from].Spec.Replicas ?? 1) != 0)
            plan.Scale.Add(new ScaleAction(from, 0, $"fenced: scaled to 0 before traffic moves to {to}"));
        if (hooks.PromoteTemplate is not null)
            plan.HookJobs.Add(BuildHookJob(o.Policy, HookPromote, HookJobName(o.Policy.Metadata.Name, HookPromote, number), hooks.PromoteTemplate,
                from, to, hooks.PromoteTimeout));
    }

    /// <summary>Ready pods of a target, the larger of the prober's count and the workload's status (fencing errs towards "still serving").</summary>
    private static int ReadyPods(Observation o, string target) =>
        Math.Max(o.Health.TryGetValue(target, out var h) ? h.ReadyPods : 0, Workloads.ReadyReplicas(o.Deployments[target]));

    /// <summary>Hook Jobs of the policy that neither the move under way nor the last switch names: deleted.</summary>
    private static void CleanUpHookJobs(Observation o, Plan plan)
    {
        var fo = plan.Status.Failover;
        var keep = new[] { fo?.Pending?.FenceJob, fo?.Pending?.PromoteJob, fo?.Last?.FenceJob, fo?.Last?.PromoteJob }
            .Where(n => n is not null).ToHashSet(StringComparer.Ordinal);
        plan.DeleteJobs.AddRange(o.HookJobs.Where(j => !keep.Contains(j.Metadata.Name) && j.Metadata.DeletionTimestamp is null)
            .Select(j => j.Metadata.Name).Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// The Job name of a hook of the <paramref name="number"/>th stepped move of a policy: the same
    /// whoever computes it, at most 63 characters (the job-name label of its pods).
    /// </summary>
    public static string HookJobName(string policy, string hook, int number)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{policy}/{hook}/{number}")))[..6];
        var suffix = $"-{hook}-{number.ToString(CultureInfo.InvariantCulture)}-{hash}";
        var head = policy.Length + suffix.Length > 63 ? policy[..(63 - suffix.Length)].TrimEnd('-', '.') : policy;
        return head + suffix;
    }

    /// <summary>A hook Job: owned by the policy, labelled with it and the hook, backoffLimit 0, ended by Kubernetes at the timeout.</summary>
    public static V1Job BuildHookJob(ResiliencePolicy policy, string hook, string name, V1PodTemplateSpec template, string from, string to, TimeSpan timeout)
    {
        // A deep copy: the template belongs to the cached policy, which nobody may change.
        var pod = KubernetesJson.Deserialize<V1PodTemplateSpec>(KubernetesJson.Serialize(template));
        pod.Metadata ??= new V1ObjectMeta();
        pod.Metadata.Labels ??= new Dictionary<string, string>();
        pod.Metadata.Labels[Labels.Policy] = policy.Metadata.Name;
        pod.Metadata.Labels[Labels.Hook] = hook;
        pod.Spec.RestartPolicy = "Never";
        var env = new Dictionary<string, string> { [FromTargetEnv] = from, [ToTargetEnv] = to, [BackupJobs.PolicyNameEnv] = policy.Metadata.Name };
        foreach (var c in pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []))
        {
            var list = (c.Env ?? []).Where(e => !env.ContainsKey(e.Name)).ToList();
            list.AddRange(env.Select(kv => new V1EnvVar { Name = kv.Key, Value = kv.Value }));
            c.Env = list;
        }
        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = policy.Metadata.NamespaceProperty,
                Labels = new Dictionary<string, string> { [Labels.Policy] = policy.Metadata.Name, [Labels.Hook] = hook },
                OwnerReferences = [OwnerReferences.ControlledBy(policy)],
            },
            Spec = new V1JobSpec { BackoffLimit = 0, ActiveDeadlineSeconds = (long)Math.Ceiling(timeout.TotalSeconds), Template = pod },
        };
    }

    private static string Describe(string? reason) => reason switch
    {
        Reasons.Failback => "failback",
        Reasons.ManualFailback => "manual failback",
        _ => "failover",
    };

    private static PendingFailover Copy(PendingFailover p) => new()
    {
        From = p.From, To = p.To, FirstFailureTime = p.FirstFailureTime, DetectedAt = p.DetectedAt, Reason = p.Reason, Step = p.Step,
        StepStartedAt = p.StepStartedAt, FenceJob = p.FenceJob, FencedAt = p.FencedAt, PromoteJob = p.PromoteJob, PromotedAt = p.PromotedAt,
        FailedStep = p.FailedStep, FailedAt = p.FailedAt, Message = p.Message, Generation = p.Generation,
    };
}
