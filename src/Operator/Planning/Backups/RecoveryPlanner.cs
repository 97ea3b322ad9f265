using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// Pure decisions about backups, restores and objectives for one policy, in two steps around the
/// traffic decision: <see cref="Prepare"/> schedules backups, applies retention, records incidents,
/// asks for their restores and says which targets must not get traffic yet; <see cref="Finish"/>
/// measures RPO and RTO once the traffic decision is known, closes incidents and sets the
/// BackupsHealthy and ObjectivesMet conditions.
/// </summary>
internal static class RecoveryPlanner
{
    /// <summary>Failed backups kept per location when no keepLast is set.</summary>
    public const int DefaultFailedKept = 5;

    public static bool RestoresOnFail(FailAction a) => a is FailAction.Restore or FailAction.FailoverAndRestore;

    /// <summary>What is wrong with spec.restore from the spec alone; null when it is fine (shared with the admission webhook).</summary>
    public static string? RestoreError(ResiliencePolicySpec spec)
    {
        var onFail = spec.HealthCheck?.OnFail ?? FailAction.Failover;
        return RestoresOnFail(onFail) && spec.Restore?.Template?.Spec?.Containers is not { Count: > 0 }
            ? $"spec.restore.template: required (a pod template with at least one container) when spec.healthCheck.onFail is {onFail}"
            : null;
    }

    public static void Prepare(Observation o, EffectiveSpec spec, Plan plan)
    {
        var policy = o.Policy;
        var old = policy.Status;
        var status = plan.Status;
        status.Backup = Copy(old?.Backup);
        status.Incidents = [.. (old?.Incidents ?? []).Select(Copy)];
        status.Objectives = old?.Objectives is { } obj ? new ObjectivesStatus
        {
            RpoSeconds = obj.RpoSeconds, MeasuredAt = obj.MeasuredAt, LastRtoSeconds = obj.LastRtoSeconds,
            LastIncident = obj.LastIncident, RpoMet = obj.RpoMet, RtoMet = obj.RtoMet,
        } : null;

        BackupSchedule? schedule = null;
        if (policy.Spec.Backup is { } backupSpec)
        {
            (schedule, var error) = BackupSchedule.From(backupSpec);
            plan.BackupError = error;
        }
        plan.RestoreError = RestoreError(policy.Spec);

        var backups = o.Backups.Where(b => b.Metadata.DeletionTimestamp is null).ToList();
        if (schedule is not null && plan.BackupError is null && policy.Spec.Backup?.Verify is not null) plan.BackupError = VerifyError(policy.Spec);
        if (schedule is not null)
        {
            status.Backup ??= new BackupScheduleStatus();
            Schedule(o, spec, schedule, backups, plan);
            Retain(o, spec, schedule, backups, plan);
            if (plan.BackupError is null) VerifySchedule(o, policy.Spec.Backup!, backups, plan);
        }
        Summarize(backups.Where(b => !plan.DeleteBackups.Contains(b.Metadata.Name)), status);
        if (policy.Spec.Backup is null && status.Backup?.LastCompleted is null) status.Backup = null;
        Incidents(o, spec, plan, backups);
    }

    // ---- schedule ----------------------------------------------------------------------------

    private static void Schedule(Observation o, EffectiveSpec spec, BackupSchedule schedule, List<ResilienceBackup> backups, Plan plan)
    {
        var status = plan.Status.Backup!;
        var from = status.LastScheduleTime ?? o.Policy.Metadata.CreationTimestamp ?? o.Now;
        if (schedule.LatestDue(from, o.Now) is { } slot)
        {
            var period = schedule.PeriodAt(slot);
            var grace = TimeSpan.FromTicks(Math.Min(period.Ticks / 2, TimeSpan.FromMinutes(2).Ticks));
            var onTime = o.Now - slot <= grace;
            var newest = NewestCompleted(backups);
            // After downtime only one backup, and only when the newest good one is already older
            // than a period: never one per missed slot.
            var catchUp = !onTime && (newest?.Status?.CompletionTime is not { } done || o.Now - done > period);
            if (onTime || catchUp)
            {
                var target = o.Policy.Status?.ActiveTargets?.FirstOrDefault() ?? spec.ByPriority[0].Name;
                foreach (var location in schedule.Locations)
                {
                    var name = BackupNames.Backup(o.Policy.Metadata.Name, slot, location);
                    if (backups.Any(b => b.Metadata.Name == name)) continue;
                    plan.CreateBackups.Add(new BackupAction(name, location, slot, target));
                }
                if (!onTime && plan.CreateBackups.Count > 0)
                    plan.Events.Add(new PlannedEvent("Normal", Reasons.CatchUpBackup,
                        $"backup due at {slot:O} was missed and the newest completed backup is older than the schedule period: one catch-up backup"));
            }
            status.LastScheduleTime = slot;
        }
        status.NextScheduleTime = schedule.Next(o.Now);
        if (status.NextScheduleTime is { } next) plan.RequeueNoLaterThan(next - o.Now);
    }

    // ---- restore tests -----------------------------------------------------------------------

    /// <summary>What is wrong with spec.backup.verify from the spec alone; null when it is fine (shared with the admission webhook).</summary>
    public static string? VerifyError(ResiliencePolicySpec spec)
    {
        if (spec.Backup?.Verify is not { } verify) return null;
        var (_, error) = BackupSchedule.From(new BackupSpec { Schedule = verify.Schedule, TimeZone = spec.Backup.TimeZone, Template = verify.Template });
        if (error is not null)
            return error.Replace("spec.backup.schedule", "spec.backup.verify.schedule", StringComparison.Ordinal)
                .Replace("spec.backup.template", "spec.backup.verify.template", StringComparison.Ordinal);
        return spec.Restore?.Template?.Spec?.Containers is not { Count: > 0 }
            ? "spec.backup.verify: needs spec.restore.template (a restore test restores the backup with it into a scratch copy)"
            : null;
    }

    /// <summary>
    /// At each due time of spec.backup.verify.schedule: a restore test of the newest completed backup that is
    /// neither suspect nor tested yet, unless one is under way (one at a time). No catch-up of missed slots.
    /// </summary>
    private static void VerifySchedule(Observation o, BackupSpec backupSpec, List<ResilienceBackup> backups, Plan plan)
    {
        if (backupSpec.Verify is null) return;
        var (verify, _) = BackupSchedule.From(new BackupSpec
        {
            Schedule = backupSpec.Verify!.Schedule, TimeZone = backupSpec.TimeZone, Template = backupSpec.Verify.Template,
        });
        if (verify is null) return;
        var status = plan.Status.Backup!;
        var from = status.LastVerifyScheduleTime ?? o.Policy.Metadata.CreationTimestamp ?? o.Now;
        if (verify.LatestDue(from, o.Now) is { } slot)
        {
            if (Verification.Candidate(backups) is { } candidate)
                plan.VerifyBackups.Add(new VerifyAction(candidate.Metadata.Name, slot, Verification.BySchedule));
            status.LastVerifyScheduleTime = slot;
        }
        if (verify.Next(o.Now) is { } next) plan.RequeueNoLaterThan(next - o.Now);
    }

    // ---- retention ---------------------------------------------------------------------------

    /// <summary>
    /// Per location: completed backups beyond keepLast or older than maxAge go, the newest
    /// completed one never; failed ones are kept to the same count (5 without keepLast). A backup
    /// that a restore still needs is kept, and so is the newest one its target passed a health check after.
    /// </summary>
    private static void Retain(Observation o, EffectiveSpec spec, BackupSchedule schedule, List<ResilienceBackup> backups, Plan plan)
    {
        var needed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in plan.Status.Incidents ?? []) if (i.Backup is not null) needed.Add(i.Backup);
        foreach (var r in o.Restores)
            if (r.Status?.Phase is not (RunPhase.Completed or RunPhase.Failed))
            {
                if (r.Spec.Backup is { Length: > 0 } b) needed.Add(b);
                if (r.Status?.Backup is { Length: > 0 } s) needed.Add(s);
            }
        // The last known good backup and the newest verified one outlive any retention rule.
        if (LastKnownGood.Choose(backups, null).Backup is { } good) needed.Add(good.Metadata.Name);
        if (NewestCompleted(backups.Where(LastKnownGood.IsVerified)) is { } verified) needed.Add(verified.Metadata.Name);
        // A backup under a restore test stays until the test ends.
        foreach (var b in backups.Where(Verification.InProgress)) needed.Add(b.Metadata.Name);
        // An incident restores only a backup that completed before its target's last passing check: the newest
        // completed one may postdate it (suspect once the incident opens). So the newest backup its target passed
        // a check after stays until a newer one has such a check too; while none is known (after a restart, before
        // a check of this process passed), no completed backup that is not suspect goes. Both are looked at again
        // one health check interval later.
        var active = o.Policy.Status?.ActiveTargets?.FirstOrDefault() ?? spec.ByPriority[0].Name;
        var held = new HashSet<string>(StringComparer.Ordinal);
        if (LastKnownGood.CheckedAfter(backups, t => LastKnownGood.LastPassed(o.Health.GetValueOrDefault(t)), active) is { } checkedAfter)
            held.Add(checkedAfter.Metadata.Name);
        else
            foreach (var b in backups.Where(b => b.Status?.Phase == RunPhase.Completed && !LastKnownGood.IsSuspect(b))) held.Add(b.Metadata.Name);
        foreach (var group in backups.GroupBy(b => b.Spec.Location))
        {
            foreach (var (phase, keep) in new[] { (RunPhase.Completed, schedule.KeepLast), (RunPhase.Failed, schedule.KeepLast ?? DefaultFailedKept) })
            {
                var done = group.Where(b => b.Status?.Phase == phase)
                    .OrderByDescending(b => b.Status!.CompletionTime ?? b.Metadata.CreationTimestamp ?? DateTime.MinValue)
                    .ThenByDescending(b => b.Metadata.Name, StringComparer.Ordinal).ToList();
                for (var i = phase == RunPhase.Completed ? 1 : 0; i < done.Count; i++)
                {
                    var b = done[i];
                    if (needed.Contains(b.Metadata.Name)) continue;
                    var age = o.Now - (b.Status!.CompletionTime ?? o.Now);
                    var beyond = keep is { } k && i >= k;
                    var tooOld = schedule.MaxAge is { } max && age > max;
                    if (beyond || tooOld)
                    {
                        if (held.Contains(b.Metadata.Name)) plan.RequeueNoLaterThan(spec.Interval);
                        else plan.DeleteBackups.Add(b.Metadata.Name);
                    }
                    else if (schedule.MaxAge is { } m) plan.RequeueNoLaterThan(m - age);
                }
            }
        }
    }

    public static ResilienceBackup? NewestCompleted(IEnumerable<ResilienceBackup> backups) =>
        backups.Where(b => b.Status?.Phase == RunPhase.Completed && b.Metadata.DeletionTimestamp is null)
            .OrderByDescending(b => b.Status!.CompletionTime ?? DateTime.MinValue).ThenByDescending(b => b.Metadata.Name, StringComparer.Ordinal)
            .FirstOrDefault();

    private static void Summarize(IEnumerable<ResilienceBackup> backups, ResiliencePolicyStatus status)
    {
        var list = backups.ToList();
        var newest = NewestCompleted(list);
        if (newest is null && status.Backup is null) return;
        status.Backup ??= new BackupScheduleStatus();
        // A completed backup deleted by hand keeps its record until a newer one completes.
        if (newest is not null && (status.Backup.LastCompletedTime is null || newest.Status!.CompletionTime >= status.Backup.LastCompletedTime))
        {
            status.Backup.LastCompleted = newest.Metadata.Name;
            status.Backup.LastCompletedTime = newest.Status!.CompletionTime;
        }
        // The newest verified backup, as the newest completed one: its record outlives a deletion by hand.
        if (NewestCompleted(list.Where(Verification.Passed)) is { } verified
            && (status.Backup.LastVerifiedTime is null || verified.Status!.CompletionTime >= status.Backup.LastVerifiedTime))
        {
            status.Backup.LastVerified = verified.Metadata.Name;
            status.Backup.LastVerifiedTime = verified.Status!.CompletionTime;
        }
        var failed = list.Where(b => b.Status?.Phase == RunPhase.Failed)
            .OrderByDescending(b => b.Status!.CompletionTime ?? DateTime.MinValue).FirstOrDefault();
        status.Backup.LastFailed = failed is not null
            && (status.Backup.LastCompletedTime is null || failed.Status!.CompletionTime > status.Backup.LastCompletedTime)
            ? failed.Metadata.Name : null;
    }

    // ---- incidents and restores --------------------------------------------------------------

    private static void Incidents(Observation o, EffectiveSpec spec, Plan plan, List<ResilienceBackup> backups)
    {
        var policy = o.Policy;
        var incidents = plan.Status.Incidents!;
        var restoring = RestoresOnFail(spec.OnFail) && plan.RestoreError is null;
        var active = policy.Status?.ActiveTargets ?? [];
        RemoveWhere(incidents, i => spec.Targets.All(t => t.Name != i.Target));

        foreach (var t in spec.Targets)
        {
            if (!o.Health.TryGetValue(t.Name, out var h) || !h.Failed) continue;
            if (incidents.Any(i => i.Target == t.Name)) continue;
            var wasActive = active.Contains(t.Name);
            if (!wasActive && !restoring) continue;
            var incident = new IncidentStatus
            {
                Target = t.Name, Active = wasActive, FirstFailureTime = h.FirstFailureTime, DetectedAt = h.LastTransitionTime,
                LastPassingCheck = LastPassingCheck(h, spec.Interval),
            };
            if (restoring)
            {
                // The last known good backup: completed before the incident began, never a suspect one.
                var (backup, why) = LastKnownGood.Choose(backups, incident.LastPassingCheck);
                incident.BackupReason = why;
                if (backup is not null)
                {
                    // Recorded first, created on the next reconcile from the recorded name: a
                    // restart in between finds the incident and makes the same restore, never a second.
                    incident.Restore = BackupNames.Restore(policy.Metadata.Name, t.Name, incident.DetectedAt);
                    incident.Backup = backup.Metadata.Name;
                    plan.RequeueNoLaterThan(TimeSpan.Zero);
                }
                else if (NewestCompleted(backups) is null)
                {
                    plan.Events.Add(new PlannedEvent("Warning", Reasons.NoBackupToRestore,
                        $"{t.Name} failed and there is no completed backup of {policy.Metadata.Name} to restore it from"));
                }
                else
                {
                    plan.Events.Add(new PlannedEvent("Warning", Reasons.NoGoodBackup,
                        $"{t.Name} failed and {policy.Metadata.Name} has no good backup to restore it from ({why}); not restoring from a suspect one"));
                }
            }
            incidents.Add(incident);
        }

        foreach (var incident in policy.Status?.Incidents ?? [])
        {
            if (incident.Restore is not { } name || incident.Backup is not { } backup) continue;
            if (incidents.All(i => i.Restore != name)) continue;
            if (o.Restores.Any(r => r.Metadata.Name == name)) continue;
            plan.CreateRestores.Add(new RestoreAction(name, incident.Target, backup, incident.DetectedAt));
            plan.Events.Add(new PlannedEvent("Normal", Reasons.RestoreStarted,
                $"{incident.Target} failed at {incident.DetectedAt:O}: restoring it from backup {backup} (ResilienceRestore {name})"));
        }

        // Gates: no traffic to a target while a restore of it runs, nor after its incident until
        // the incident's restore (or a later one made by hand) completed.
        foreach (var t in spec.Targets)
        {
            var restores = o.Restores.Where(r => r.Spec.Target == t.Name && r.Metadata.DeletionTimestamp is null).ToList();
            // Accepted restores only: one rejected for bad input never touches traffic.
            var inFlight = restores.FirstOrDefault(r => r.Status?.Phase is RunPhase.Pending or RunPhase.Running);
            var incident = incidents.FirstOrDefault(i => i.Target == t.Name);
            // In DryRun the incident's restore is only planned, never made: it gates nothing.
            if (incident?.Restore is { } name && !(plan.DryRun && restores.All(r => r.Metadata.Name != name)))
            {
                var own = restores.FirstOrDefault(r => r.Metadata.Name == name);
                var done = own?.Status?.Phase == RunPhase.Completed
                    || (own is not null && restores.Any(r => r.Status?.Phase == RunPhase.Completed && r.Metadata.Name != name
                        && r.Metadata.CreationTimestamp >= own.Metadata.CreationTimestamp));
                if (!done)
                {
                    plan.Gates[t.Name] = own?.Status?.Phase == RunPhase.Failed
                        ? $"restore {name} failed ({own.Status.Message}); no traffic to {t.Name} until a restore of it completes"
                        : $"waiting for restore {name} of {t.Name}";
                    continue;
                }
            }
            if (inFlight is not null) plan.Gates[t.Name] = $"waiting for restore {inFlight.Metadata.Name} of {t.Name}";
        }
    }

    /// <summary>
    /// The last passing check before a failure: as the prober recorded it, or (a verdict taken over
    /// after a restart) one interval before the first failed check, or before the detection.
    /// </summary>
    public static DateTime LastPassingCheck(TargetHealth h, TimeSpan interval) =>
        h.LastPassedAt is { } passed && (h.FirstFailureTime is not { } first || passed < first) ? passed
            : (h.FirstFailureTime ?? h.LastTransitionTime) - interval;

    // ---- after the traffic decision ----------------------------------------------------------

    public static void Finish(Observation o, EffectiveSpec spec, Plan plan)
    {
        var status = plan.Status;
        var gen = o.Policy.Metadata.Generation;
        var serving = ConditionSet.Find(status.Conditions, ConditionSet.Ready) is { Status: "True", Reason: Reasons.Serving or Reasons.DryRun };
        var incidents = status.Incidents!;
        foreach (var incident in incidents)
        {
            if (!incident.Active || incident.RecoveredAt is not null || !serving) continue;
            incident.RecoveredAt = o.Now;
            status.Objectives ??= new ObjectivesStatus();
            status.Objectives.LastRtoSeconds = RtoSeconds(incident, spec.Interval);
            status.Objectives.LastIncident = Copy(incident);
        }
        RemoveWhere(incidents, i => o.Health.TryGetValue(i.Target, out var h) && h.Healthy && !plan.Gates.ContainsKey(i.Target)
            && (!i.Active || i.RecoveredAt is not null));
        if (incidents.Count == 0) status.Incidents = null;
        if (plan.Gates.Count > 0) plan.RequeueNoLaterThan(spec.Interval);

        Objectives(o, spec, plan);
        BackupsCondition(o, plan, gen);
        VerifiedCondition(o, plan, gen);
    }

    /// <summary>
    /// Seconds from the last passing check (one interval before the first failed one: the fault can
    /// have begun right after it, unseen) to serving again — the same start failover.last.detectionSeconds
    /// counts from, so a warm failover's RTO is its detection plus its switch.
    /// </summary>
    public static double? RtoSeconds(IncidentStatus incident, TimeSpan interval) => incident.RecoveredAt is { } recovered
        ? Math.Round((recovered - (incident.FirstFailureTime is { } first ? first - interval : incident.DetectedAt)).TotalSeconds, 3)
        : null;

    private static void Objectives(Observation o, EffectiveSpec spec, Plan plan)
    {
        var status = plan.Status;
        var gen = o.Policy.Metadata.Generation;
        var old = ConditionSet.Find(o.Policy.Status?.Conditions, ConditionSet.ObjectivesMet);
        TimeSpan? rpo = GoDuration.TryParse(o.Policy.Spec.Objectives?.Rpo, out var r) ? r : null;
        // spec.objectives.rpoFrom Verified: only a backup that passed its restore test bounds the data loss.
        var fromVerified = o.Policy.Spec.Objectives?.RpoFrom == RpoFrom.Verified;
        var lastCompleted = fromVerified ? status.Backup?.LastVerifiedTime : status.Backup?.LastCompletedTime;
        if (lastCompleted is { } done)
        {
            status.Objectives ??= new ObjectivesStatus();
            status.Objectives.RpoSeconds = Math.Round((o.Now - done).TotalSeconds, 3);
            status.Objectives.MeasuredAt = o.Now;
        }
        else if (status.Objectives is not null)
        {
            status.Objectives.RpoSeconds = null;
            status.Objectives.MeasuredAt = null;
        }
        var problems = new List<string>();
        string? unknown = null;
        bool? rpoMet = null, rtoMet = null;
        if (rpo is { } rpoLimit)
        {
            if (lastCompleted is { } t)
            {
                rpoMet = o.Now - t <= rpoLimit;
                if (rpoMet == false)
                    problems.Add($"RPO {GoDuration.Format(o.Now - t)} exceeds spec.objectives.rpo {o.Policy.Spec.Objectives!.Rpo}: " +
                        (fromVerified ? $"the newest verified backup {status.Backup!.LastVerified} completed at {t:O}"
                            : $"the newest completed backup {status.Backup!.LastCompleted} completed at {t:O}"));
                else plan.RequeueNoLaterThan(t + rpoLimit - o.Now);
            }
            else if (o.Policy.Spec.Backup is null)
            {
                rpoMet = false;
                problems.Add($"spec.objectives.rpo {o.Policy.Spec.Objectives!.Rpo} is declared but spec.backup is not: nothing bounds the data loss");
            }
            else
            {
                var since = o.Policy.Metadata.CreationTimestamp ?? o.Now;
                if (o.Now - since > rpoLimit)
                {
                    rpoMet = false;
                    problems.Add($"no backup has {(fromVerified ? "passed a restore test" : "completed")} in {GoDuration.Format(o.Now - since)}, " +
                        $"longer than spec.objectives.rpo {o.Policy.Spec.Objectives!.Rpo}");
                }
                else
                {
                    unknown = fromVerified ? "no backup has passed a restore test yet (spec.objectives.rpoFrom: Verified)" : "no backup has completed yet";
                    plan.RequeueNoLaterThan(since + rpoLimit - o.Now);
                }
            }
        }
        if (spec.Rto is { } rtoLimit && status.Objectives?.LastRtoSeconds is { } measured)
        {
            rtoMet = measured <= rtoLimit.TotalSeconds;
            if (rtoMet == false) problems.Add($"last RTO {Figures.Seconds(measured, "unknown")} exceeds spec.objectives.rto {o.Policy.Spec.Objectives!.Rto}");
        }
        if (status.Objectives is not null || rpoMet is not null || rtoMet is not null)
        {
            status.Objectives ??= new ObjectivesStatus();
            status.Objectives.RpoMet = rpoMet;
            status.Objectives.RtoMet = rtoMet;
        }
        if (rpo is null && spec.Rto is null)
            ConditionSet.Set(status.Conditions!, ConditionSet.ObjectivesMet, "True", Reasons.NoObjectives, "no spec.objectives declared", gen, o.Now);
        else if (problems.Count > 0)
        {
            var message = string.Join("; ", problems);
            ConditionSet.Set(status.Conditions!, ConditionSet.ObjectivesMet, "False", Reasons.ObjectivesBreached, message, gen, o.Now);
            if (old?.Status != "False" || old.Message != message)
                plan.Events.Add(new PlannedEvent("Warning", Reasons.ObjectivesBreached, message));
        }
        else if (unknown is not null)
            ConditionSet.Set(status.Conditions!, ConditionSet.ObjectivesMet, "Unknown", Reasons.NoCompletedBackup, unknown, gen, o.Now);
        else
        {
            var parts = new List<string>();
            if (status.Objectives?.RpoSeconds is { } rs && rpo is not null)
                parts.Add($"RPO {Figures.Seconds(Math.Round(rs, 1), "unknown")} within {o.Policy.Spec.Objectives!.Rpo}");
            if (status.Objectives?.LastRtoSeconds is { } ls && spec.Rto is not null)
                parts.Add($"last RTO {Figures.Seconds(ls, "unknown")} within {o.Policy.Spec.Objectives!.Rto}");
            // Only the verdict goes into the message: the measured numbers change at every
            // reconcile and live in status.objectives.
            ConditionSet.Set(status.Conditions!, ConditionSet.ObjectivesMet, "True", Reasons.ObjectivesMet,
                parts.Count == 0 ? "no failure measured yet" : "measured RPO and RTO within the objectives", gen, o.Now);
        }
    }

    private static void BackupsCondition(Observation o, Plan plan, long? gen)
    {
        var status = plan.Status;
        var old = ConditionSet.Find(o.Policy.Status?.Conditions, ConditionSet.BackupsHealthy);
        string s, reason, message;
        var error = plan.BackupError ?? plan.RestoreError;
        var failedRestore = FailingRestore(o, status);
        var failedBackup = status.Backup?.LastFailed is { } lf ? o.Backups.FirstOrDefault(b => b.Metadata.Name == lf) : null;
        // An incident left without a restore because every backup is suspect or too late.
        var stranded = status.Incidents?.FirstOrDefault(i => i.Restore is null
            && i.BackupReason?.StartsWith(LastKnownGood.NoGood, StringComparison.Ordinal) == true);
        if (error is not null) (s, reason, message) = ("False", Reasons.InvalidSpec, error);
        else if (failedRestore is not null)
            (s, reason, message) = ("False", Reasons.RestoreFailed,
                $"restore {failedRestore.Metadata.Name} of {failedRestore.Spec.Target}: " +
                $"{(failedRestore.Status?.Message is { Length: > 0 } rm ? rm : "failed")}");
        else if (stranded is not null)
            (s, reason, message) = ("False", Reasons.NoGoodBackup,
                $"{stranded.Target} failed at {stranded.DetectedAt:O} and is not restored: {stranded.BackupReason}");
        else if (failedBackup is not null)
            (s, reason, message) = ("False", Reasons.BackupFailed,
                $"backup {failedBackup.Metadata.Name} failed{(failedBackup.Status?.Message is { Length: > 0 } bm ? ": " + bm : "")}");
        else if (o.Policy.Spec.Backup is null)
            (s, reason, message) = ("True", Reasons.NotConfigured, "no spec.backup: nothing to back up");
        else if (status.Backup?.LastCompleted is { } name)
            (s, reason, message) = ("True", Reasons.BackupsSucceeding, $"newest backup {name} completed");
        else (s, reason, message) = ("Unknown", Reasons.NoBackupYet, "no backup has completed yet");
        ConditionSet.Set(status.Conditions!, ConditionSet.BackupsHealthy, s, reason, message, gen, o.Now);
        if (s == "False" && (old?.Reason != reason || old.Message != message))
            plan.Events.Add(new PlannedEvent("Warning", reason, message));
    }

    /// <summary>
    /// BackupsVerified, only while spec.backup.verify is set: True when the newest finished restore test passed,
    /// False when it failed (with a Warning event), Unknown before one finished.
    /// </summary>
    private static void VerifiedCondition(Observation o, Plan plan, long? gen)
    {
        var conditions = plan.Status.Conditions!;
        if (o.Policy.Spec.Backup?.Verify is null)
        {
            RemoveWhere(conditions, c => c.Type == BackupsVerified);
            return;
        }
        var old = ConditionSet.Find(o.Policy.Status?.Conditions, BackupsVerified);
        var newest = o.Backups.Where(b => b.Status?.Verification?.Phase is VerificationPhase.Passed or VerificationPhase.Failed)
            .OrderByDescending(b => b.Status!.Verification!.Time ?? DateTime.MinValue).ThenByDescending(b => b.Metadata.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        string s, reason, message;
        if (newest is null)
            (s, reason, message) = ("Unknown", Reasons.NoVerifiedBackup, "no restore test has finished yet");
        else if (newest.Status!.Verification!.Phase == VerificationPhase.Passed)
            (s, reason, message) = ("True", Reasons.BackupsVerified, $"backup {newest.Metadata.Name} passed its restore test");
        else
            (s, reason, message) = ("False", Reasons.BackupVerificationFailed,
                $"backup {newest.Metadata.Name} failed its restore test: {newest.Status.Verification.Message}");
        ConditionSet.Set(conditions, BackupsVerified, s, reason, message, gen, o.Now);
        if (s == "False" && (old?.Status != "False" || old.Message != message))
            plan.Events.Add(new PlannedEvent("Warning", reason, message));
    }

    /// <summary>The policy condition on restore tests (present only while spec.backup.verify is set).</summary>
    public const string BackupsVerified = "BackupsVerified";

    /// <summary>A restore of an open incident, or the newest restore of a target, that failed or is retrying after a failed attempt.</summary>
    private static ResilienceRestore? FailingRestore(Observation o, ResiliencePolicyStatus status)
    {
        foreach (var group in o.Restores.Where(r => r.Metadata.DeletionTimestamp is null).GroupBy(r => r.Spec.Target))
        {
            var newest = group.OrderByDescending(r => r.Metadata.CreationTimestamp ?? DateTime.MinValue)
                .ThenByDescending(r => r.Metadata.Name, StringComparer.Ordinal).First();
            // Only restores whose Jobs failed: one rejected for bad input says so on itself and affects nothing else.
            if (newest.Status?.Attempts is not > 0) continue;
            if (newest.Status.Phase == RunPhase.Failed
                || (newest.Status.Phase is RunPhase.Running or RunPhase.Pending && newest.Status.LastFailureTime is not null))
            {
                // A failed restore of a target that has since recovered (no open incident) is history.
                if (newest.Status.Phase == RunPhase.Failed && status.Incidents?.Any(i => i.Target == newest.Spec.Target) != true
                    && newest.Metadata.Labels?.ContainsKey(Labels.Incident) == true) continue;
                return newest;
            }
        }
        return null;
    }

    private static void RemoveWhere<T>(IList<T> list, Func<T, bool> predicate)
    {
        for (var i = list.Count - 1; i >= 0; i--) if (predicate(list[i])) list.RemoveAt(i);
    }

    private static BackupScheduleStatus? Copy(BackupScheduleStatus? b) => b is null ? null : new BackupScheduleStatus
    {
        LastScheduleTime = b.LastScheduleTime, NextScheduleTime = b.NextScheduleTime, LastCompleted = b.LastCompleted,
        LastCompletedTime = b.LastCompletedTime, LastFailed = b.LastFailed, LastVerified = b.LastVerified, LastVerifiedTime = b.LastVerifiedTime,
        LastVerifyScheduleTime = b.LastVerifyScheduleTime,
    };

    private static IncidentStatus Copy(IncidentStatus i) => new()
    {
        Target = i.Target, Active = i.Active, FirstFailureTime = i.FirstFailureTime, DetectedAt = i.DetectedAt,
        RecoveredAt = i.RecoveredAt, Restore = i.Restore, Backup = i.Backup, LastPassingCheck = i.LastPassingCheck, BackupReason = i.BackupReason,
    };
}
