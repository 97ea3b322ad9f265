using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

/// <summary>Schedule, catch-up, retention, restores per incident, gates and objectives, through the planner.</summary>
public sealed class BackupPlanningTests
{
    private static V1PodTemplateSpec Template() => new()
    {
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "backup", Image = "busybox" }] },
    };

    private static PolicyBuilder WithBackups(string schedule = "*/10 * * * * *", int? keepLast = null, string? maxAge = null, params string[] locations)
    {
        var b = new PolicyBuilder();
        b.Policy.Metadata.CreationTimestamp = T0.AddMinutes(-30);
        b.Policy.Spec.Backup = new BackupSpec
        {
            Schedule = schedule, Template = Template(), Locations = locations.Length == 0 ? null : [.. locations],
            Retention = keepLast is null && maxAge is null ? null : new RetentionSpec { KeepLast = keepLast, MaxAge = maxAge },
        };
        b.Policy.Spec.Restore = new RestoreSpec { Template = Template() };
        return b;
    }

    internal static ResilienceBackup Backup(string name, RunPhase? phase, DateTime? completed, string location = "default", string policy = "checkout") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop", CreationTimestamp = completed?.AddSeconds(-2) ?? T0, Uid = "uid-" + name },
        Spec = new ResilienceBackupSpec { Policy = policy, Location = location },
        Status = phase is null ? null : new ResilienceRunStatus { Phase = phase, CompletionTime = completed },
    };

    private static ResilienceRestore Restore(string name, string target, RunPhase? phase, DateTime created) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop", CreationTimestamp = created },
        Spec = new ResilienceRestoreSpec { Policy = "checkout", Target = target },
        Status = phase is null ? null : new ResilienceRunStatus { Phase = phase },
    };

    private static Plan Plan(PolicyBuilder b, DateTime now, IEnumerable<ResilienceBackup>? backups = null, IEnumerable<ResilienceRestore>? restores = null) =>
        PolicyPlanner.Plan(b.Observe(now) with { Backups = [.. backups ?? []], Restores = [.. restores ?? []] });

    private static V1Condition Cond(Plan plan, string type) => ConditionSet.Find(plan.Status.Conditions, type)!;

    [Fact]
    public void Schedule_DueSlot_OneBackupPerLocationWithDeterministicNames()
    {
        var b = WithBackups("*/10 * * * * *", locations: ["primary", "offsite"]);
        var now = T0.AddSeconds(20.3);
        var plan = Plan(b, now);
        Assert.Equal(["checkout-20261123030020-primary", "checkout-20261123030020-offsite"], plan.CreateBackups.Select(a => a.Name));
        Assert.All(plan.CreateBackups, a => Assert.Equal(T0.AddSeconds(20), a.Slot));
        Assert.Equal(T0.AddSeconds(20), plan.Status.Backup!.LastScheduleTime);
        Assert.Equal(T0.AddSeconds(30), plan.Status.Backup.NextScheduleTime);
        Assert.True(plan.RequeueAfter <= TimeSpan.FromSeconds(9.7));
        // The same decision again, twice in a row, names the same objects.
        Assert.Equal(plan.CreateBackups, Plan(b, now).CreateBackups);
    }

    [Fact]
    public void Schedule_BackupOfSlotExists_NothingCreatedEvenWithoutStatus()
    {
        var b = WithBackups();
        var existing = Backup("checkout-20261123030020-default", RunPhase.Running, null);
        var plan = Plan(b, T0.AddSeconds(21), [existing]);
        Assert.Empty(plan.CreateBackups);
    }

    [Fact]
    public void Schedule_SlotAlreadyScheduled_NothingUntilTheNext()
    {
        var b = WithBackups();
        b.Policy.Status = new ResiliencePolicyStatus { Backup = new BackupScheduleStatus { LastScheduleTime = T0.AddSeconds(20) } };
        Assert.Empty(Plan(b, T0.AddSeconds(25)).CreateBackups);
        Assert.Single(Plan(b, T0.AddSeconds(30)).CreateBackups);
    }

    [Fact]
    public void Schedule_AfterDowntimeWithOldBackup_OneCatchUpNotOnePerMissedSlot()
    {
        var b = WithBackups("0 * * * *"); // hourly
        b.Policy.Status = new ResiliencePolicyStatus { Backup = new BackupScheduleStatus { LastScheduleTime = T0.AddHours(-5) } };
        var old = Backup("old", RunPhase.Completed, T0.AddHours(-5).AddMinutes(1));
        var plan = Plan(b, T0.AddMinutes(20), [old]);
        var created = Assert.Single(plan.CreateBackups);
        Assert.Equal(T0, created.Slot); // the newest missed slot only
        Assert.Contains(plan.Events, e => e.Reason == Reasons.CatchUpBackup);
    }

    [Fact]
    public void Schedule_AfterDowntimeWithRecentBackup_NoCatchUp()
    {
        var b = WithBackups("0 * * * *");
        b.Policy.Status = new ResiliencePolicyStatus { Backup = new BackupScheduleStatus { LastScheduleTime = T0.AddHours(-1) } };
        var recent = Backup("recent", RunPhase.Completed, T0.AddMinutes(-30)); // 50 min old at now: younger than a period
        var plan = Plan(b, T0.AddMinutes(20), [recent]);
        Assert.Empty(plan.CreateBackups);
        Assert.Equal(T0, plan.Status.Backup!.LastScheduleTime); // the missed slot is spent
    }

    [Fact]
    public void Schedule_TimeZone_SlotsInThatZone()
    {
        var b = WithBackups("0 4 * * *");
        b.Policy.Spec.Backup!.TimeZone = "Europe/Berlin"; // 04:00 CET = 03:00 UTC in November
        var plan = Plan(b, T0.AddSeconds(5));
        Assert.Equal(T0, Assert.Single(plan.CreateBackups).Slot);
    }

    [Theory]
    [InlineData("99 * * * *", null, "spec.backup.schedule")]
    [InlineData("* * * *", null, "spec.backup.schedule: \"* * * *\" has 4 fields")]
    [InlineData("*/5 * * * *", "Mars/Olympus_Mons", "spec.backup.timeZone: unknown time zone \"Mars/Olympus_Mons\"")]
    public void BadInput_BackupsHealthyFalseNamingFieldAndFailoverUnaffected(string schedule, string? zone, string expected)
    {
        var b = WithBackups(schedule);
        b.Policy.Spec.Backup!.TimeZone = zone;
        var plan = Plan(b, T0);
        Assert.False(plan.Invalid);
        var c = Cond(plan, ConditionSet.BackupsHealthy);
        Assert.Equal(("False", Reasons.InvalidSpec), (c.Status, c.Reason));
        Assert.Contains(expected, c.Message, StringComparison.Ordinal);
        Assert.Empty(plan.CreateBackups);
        Assert.Equal("True", Cond(plan, ConditionSet.Ready).Status);
    }

    [Fact]
    public void BadInput_MissingTemplates_NamedInCondition()
    {
        var b = WithBackups();
        b.Policy.Spec.Backup!.Template = null;
        Assert.Contains("spec.backup.template: required", Cond(Plan(b, T0), ConditionSet.BackupsHealthy).Message, StringComparison.Ordinal);

        var r = WithBackups();
        r.Policy.Spec.Restore = null;
        r.Policy.Spec.HealthCheck!.OnFail = FailAction.FailoverAndRestore;
        var c = Cond(Plan(r, T0), ConditionSet.BackupsHealthy);
        Assert.Equal(Reasons.InvalidSpec, c.Reason);
        Assert.Contains("spec.restore.template: required", c.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Retention_KeepLast_DeletesOldestCompletedPerLocationNeverRunning()
    {
        var b = WithBackups(keepLast: 2, locations: ["a", "b"]);
        var backups = new List<ResilienceBackup>();
        for (var i = 0; i < 4; i++) backups.Add(Backup($"a{i}", RunPhase.Completed, T0.AddMinutes(-10 + i), "a"));
        backups.Add(Backup("b0", RunPhase.Completed, T0.AddMinutes(-20), "b"));
        backups.Add(Backup("a-running", RunPhase.Running, null, "a"));
        var plan = Plan(b, T0.AddSeconds(1), backups);
        Assert.Equal(["a1", "a0"], plan.DeleteBackups);
    }

    [Fact]
    public void Retention_MaxAge_NeverDeletesTheNewestCompleted()
    {
        var b = WithBackups(maxAge: "1h");
        var backups = new[]
        {
            Backup("ancient", RunPhase.Completed, T0.AddHours(-5)),
            Backup("older", RunPhase.Completed, T0.AddHours(-3)),
            Backup("failed", RunPhase.Failed, T0.AddMinutes(-1)),
        };
        var plan = Plan(b, T0.AddSeconds(1), backups);
        Assert.Equal(["ancient"], plan.DeleteBackups); // "older" is the newest completed: kept however old
    }

    [Fact]
    public void Retention_NeverDeletesABackupThatARunningRestoreUses()
    {
        var b = WithBackups(keepLast: 1);
        var backups = Enumerable.Range(0, 3).Select(i => Backup($"c{i}", RunPhase.Completed, T0.AddMinutes(-5 + i))).ToList();
        var restoring = new ResilienceRestore
        {
            Metadata = new V1ObjectMeta { Name = "by-hand", NamespaceProperty = "shop", CreationTimestamp = T0 },
            Spec = new ResilienceRestoreSpec { Policy = "checkout", Target = "primary", Backup = "c0" },
            Status = new ResilienceRunStatus { Phase = RunPhase.Running },
        };
        b.Health["primary"] = b.Health["primary"] with { LastPassedAt = T0 }; // a check passed after every backup
        var whileRunning = Plan(b, T0.AddSeconds(1), backups, [restoring]);
        Assert.Equal(["c1"], whileRunning.DeleteBackups); // c0 is beyond keepLast but being restored from
        restoring.Status.Phase = RunPhase.Completed;
        Assert.Equal(["c1", "c0"], Plan(b, T0.AddSeconds(2), backups, [restoring]).DeleteBackups);
    }

    [Fact]
    public void Retention_KeepLast1_KeepsTheOlderBackupUntilACheckPassesAfterTheNewest()
    {
        var b = WithBackups(keepLast: 1);
        b.Policy.Spec.HealthCheck!.OnFail = FailAction.FailoverAndRestore;
        var backups = new[] { Backup("older", RunPhase.Completed, T0.AddSeconds(-10)), Backup("newest", RunPhase.Completed, T0) };
        // The last passing check was before the newest completed (its completionTime, in whole seconds, means up to T0+1 s).
        b.Health["primary"] = b.Health["primary"] with { LastPassedAt = T0.AddSeconds(0.5) };
        var plan = Plan(b, T0.AddSeconds(1.2), backups);
        Assert.Empty(plan.DeleteBackups);
        Assert.True(plan.RequeueAfter <= TimeSpan.FromSeconds(1)); // looked at again one interval later
        Assert.Equal("newest", plan.Status.Backup!.LastCompleted);

        // The primary fails now: its incident restores the older backup, which is still there.
        b.Policy.Status = plan.Status;
        b.Health["primary"] = Unhealthy(T0.AddSeconds(1.5), T0.AddSeconds(2.5)) with { LastPassedAt = T0.AddSeconds(0.5) };
        var incident = Assert.Single(Plan(b, T0.AddSeconds(2.5), backups).Status.Incidents!);
        Assert.Equal("older", incident.Backup);

        // Without the fault, once a check passes after the newest completed, the older one goes.
        b.Policy.Status = plan.Status;
        b.Health["primary"] = Healthy(T0.AddMinutes(-10)) with { LastPassedAt = T0.AddSeconds(1.5) };
        Assert.Equal(["older"], Plan(b, T0.AddSeconds(1.6), backups).DeleteBackups);
    }

    [Fact]
    public void Retention_AfterARestart_NoGoodBackupGoesUntilACheckOfThisProcessPassesAfterOne()
    {
        var b = WithBackups(keepLast: 1);
        var backups = new[] { Backup("older", RunPhase.Completed, T0.AddSeconds(-10)), Backup("newest", RunPhase.Completed, T0) };
        // Taken over from status: healthy since before both backups, but the time of its latest passing check is unknown.
        b.Health["primary"] = Healthy(T0.AddMinutes(-10)) with { Seeded = true };
        var plan = Plan(b, T0.AddSeconds(5), backups);
        Assert.Empty(plan.DeleteBackups);
        Assert.True(plan.RequeueAfter <= TimeSpan.FromSeconds(1));
        // Its first check passes: now the newest has a passing check after it.
        b.Health["primary"] = b.Health["primary"] with { Seeded = false, LastPassedAt = T0.AddSeconds(6) };
        Assert.Equal(["older"], Plan(b, T0.AddSeconds(6.1), backups).DeleteBackups);
    }

    [Fact]
    public void Retention_HealthyRunStartedAfterABackup_CountsAsACheckAfterIt()
    {
        var b = WithBackups(keepLast: 1);
        var backups = new[] { Backup("oldest", RunPhase.Completed, T0.AddMinutes(-20)), Backup("older", RunPhase.Completed, T0.AddMinutes(-5)),
            Backup("newest", RunPhase.Completed, T0) };
        // A verdict taken over from status: its healthy run began with a passing check at T0-1 min, after "older".
        b.Health["primary"] = Healthy(T0.AddMinutes(-1)) with { Seeded = true };
        Assert.Equal(["oldest"], Plan(b, T0.AddSeconds(5), backups).DeleteBackups);
    }

    [Fact]
    public void Retention_FailedBackups_KeptToKeepLast()
    {
        var b = WithBackups(keepLast: 1);
        var backups = Enumerable.Range(0, 3).Select(i => Backup($"f{i}", RunPhase.Failed, T0.AddMinutes(-5 + i))).ToList();
        var plan = Plan(b, T0.AddSeconds(1), backups);
        Assert.Equal(["f1", "f0"], plan.DeleteBackups);
        Assert.Equal("f2", plan.Status.Backup!.LastFailed);
        Assert.Equal(Reasons.BackupFailed, Cond(plan, ConditionSet.BackupsHealthy).Reason);
    }

    [Fact]
    public void Restore_PrimaryFails_IncidentRecordedThenOneRestoreOfNewestCompleted()
    {
        var b = WithBackups();
        b.Policy.Spec.HealthCheck!.OnFail = FailAction.FailoverAndRestore;
        var backups = new[]
        {
            Backup("good-old", RunPhase.Completed, T0.AddMinutes(-10)),
            Backup("good-new", RunPhase.Completed, T0.AddMinutes(-5)),
            Backup("failed-newer", RunPhase.Failed, T0.AddMinutes(-2)),
            Backup("running-newest", RunPhase.Running, null),
        };
        b.PlanAndApply(T0); // serving from primary
        var detected = T0.AddSeconds(3);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(1), detected);
        var first = PolicyPlanner.Plan(b.Observe(detected) with { Backups = backups });
        var incident = Assert.Single(first.Status.Incidents!);
        Assert.Equal(("primary", "good-new", "checkout-primary-20261123030003"), (incident.Target, incident.Backup, incident.Restore));
        Assert.Empty(first.CreateRestores); // recorded first, created on the next reconcile
        Assert.Equal("standby", first.Status.ActiveTargets!.Single());
        b.Policy.Status = first.Status;
        var second = PolicyPlanner.Plan(b.Observe(detected.AddMilliseconds(60)) with { Backups = backups });
        var restore = Assert.Single(second.CreateRestores);
        Assert.Equal(("checkout-primary-20261123030003", "primary", "good-new"), (restore.Name, restore.Target, restore.Backup));
        b.Policy.Status = second.Status;
        // the restore exists: never a second one for the same incident
        var third = PolicyPlanner.Plan(b.Observe(detected.AddSeconds(5)) with { Backups = backups, Restores = [Restore(restore.Name, "primary", RunPhase.Running, detected)] });
        Assert.Empty(third.CreateRestores);
    }

    [Fact]
    public void Restore_TargetHealthyButRestoreRunning_NoFailbackUntilCompleted()
    {
        var b = WithBackups();
        b.Policy.Spec.HealthCheck!.OnFail = FailAction.FailoverAndRestore;
        b.Policy.Spec.Failover!.FailbackDelay = "1s";
        var backups = new[] { Backup("good", RunPhase.Completed, T0.AddMinutes(-5)) };
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(1), T0.AddSeconds(3));
        b.Policy.Status = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(3)) with { Backups = backups }).Status;
        var name = b.Policy.Status.Incidents!.Single().Restore!;
        b.Service.Spec.Selector = new Dictionary<string, string> { ["app"] = "standby" };
        b.Health["primary"] = Healthy(T0.AddSeconds(5));
        var running = Restore(name, "primary", RunPhase.Running, T0.AddSeconds(4));
        var during = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(30)) with { Backups = backups, Restores = [running] });
        Assert.Null(during.Selector);
        Assert.Equal("standby", during.Status.ActiveTargets!.Single());
        Assert.True(during.Gates.ContainsKey("primary"));
        b.Policy.Status = during.Status;
        var completed = Restore(name, "primary", RunPhase.Completed, T0.AddSeconds(4));
        var after = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(31)) with { Backups = backups, Restores = [completed] });
        Assert.Equal("primary", after.Selector!["app"]);
        Assert.Null(after.Status.Incidents); // closed
    }

    [Fact]
    public void Restore_NoCompletedBackup_NoRestoreAndWarning()
    {
        var b = WithBackups();
        b.Policy.Spec.HealthCheck!.OnFail = FailAction.FailoverAndRestore;
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(1), T0.AddSeconds(3));
        var plan = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(3)) with { Backups = [Backup("failed", RunPhase.Failed, T0), Backup("running", RunPhase.Running, null)] });
        Assert.Null(plan.Status.Incidents!.Single().Restore);
        Assert.Contains(plan.Events, e => e.Reason == Reasons.NoBackupToRestore);
    }

    [Fact]
    public void Restore_FailedRestore_TrafficStaysAndBackupsHealthyFalse()
    {
        var b = WithBackups();
        b.Policy.Spec.HealthCheck!.OnFail = FailAction.FailoverAndRestore;
        b.Policy.Spec.Failover!.FailbackDelay = "1s";
        var backups = new[] { Backup("good", RunPhase.Completed, T0.AddMinutes(-5)) };
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(1), T0.AddSeconds(3));
        b.Policy.Status = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(3)) with { Backups = backups }).Status;
        var name = b.Policy.Status.Incidents!.Single().Restore!;
        b.Service.Spec.Selector = new Dictionary<string, string> { ["app"] = "standby" };
        b.Health["primary"] = Healthy(T0.AddSeconds(5));
        var failed = Restore(name, "primary", RunPhase.Failed, T0.AddSeconds(4));
        failed.Metadata.Labels = new Dictionary<string, string> { [Labels.Incident] = "primary" };
        failed.Status!.Message = "attempt 3 of 3 failed";
        failed.Status.Attempts = 3;
        var plan = PolicyPlanner.Plan(b.Observe(T0.AddMinutes(1)) with { Backups = backups, Restores = [failed] });
        Assert.Null(plan.Selector);
        var c = Cond(plan, ConditionSet.BackupsHealthy);
        Assert.Equal(("False", Reasons.RestoreFailed), (c.Status, c.Reason));
        Assert.Contains(plan.Events, e => e.Reason == Reasons.RestoreFailed && e.Type == "Warning");
        // a restore made by hand afterwards that completes ends the incident
        var manual = Restore("by-hand", "primary", RunPhase.Completed, T0.AddSeconds(50));
        b.Policy.Status = plan.Status;
        var fixedPlan = PolicyPlanner.Plan(b.Observe(T0.AddMinutes(2)) with { Backups = backups, Restores = [failed, manual] });
        Assert.Equal("primary", fixedPlan.Selector!["app"]);
    }

    [Fact]
    public void Restore_OnFailRestore_NoFailoverTrafficWaitsForRestore()
    {
        var b = WithBackups();
        b.Policy.Spec.HealthCheck!.OnFail = FailAction.Restore;
        var backups = new[] { Backup("good", RunPhase.Completed, T0.AddMinutes(-5)) };
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(1), T0.AddSeconds(3));
        var plan = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(3)) with { Backups = backups });
        Assert.Null(plan.Selector);
        Assert.Equal("primary", plan.Status.ActiveTargets!.Single());
        Assert.NotNull(plan.Status.Incidents!.Single().Restore);
    }

    [Fact]
    public void Restore_TargetStartingNotFailed_NoIncidentNoRestore()
    {
        // A standby scaled up, or a target back from zero replicas (after a FailTarget drill), is not
        // healthy yet but has not failed: restoring it from a backup would overwrite good data.
        var b = WithBackups();
        b.Policy.Spec.HealthCheck!.OnFail = FailAction.FailoverAndRestore;
        var backups = new[] { Backup("good", RunPhase.Completed, T0.AddMinutes(-5)) };
        b.PlanAndApply(T0);
        b.Health["standby"] = Starting(T0.AddSeconds(1));
        var plan = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(3)) with { Backups = backups });
        Assert.Null(plan.Status.Incidents);
        Assert.Empty(plan.CreateRestores);
    }

    [Fact]
    public void TargetHealth_FailedOnlyAfterBeingHealthy()
    {
        var starting = TargetHealth.Next(null, new CheckResult(false, 3, 0, 0, "0/3 ready"), 2, 1, T0);
        starting = TargetHealth.Next(starting, new CheckResult(false, 3, 0, 0, "0/3 ready"), 2, 1, T0.AddSeconds(1));
        Assert.False(starting.Healthy);
        Assert.False(starting.Failed);
        var healthy = TargetHealth.Next(starting, new CheckResult(true, 3, 3, 3, "3/3"), 2, 1, T0.AddSeconds(2));
        var once = TargetHealth.Next(healthy, new CheckResult(false, 3, 0, 0, "0/3 ready"), 2, 1, T0.AddSeconds(3));
        Assert.False(once.Failed); // one failed check of two: still healthy
        var failed = TargetHealth.Next(once, new CheckResult(false, 3, 0, 0, "0/3 ready"), 2, 1, T0.AddSeconds(4));
        Assert.True(failed.Failed);
        var cold = TargetHealth.Next(failed, new CheckResult(false, 0, 0, 0, "scaled to zero", Cold: true), 2, 1, T0.AddSeconds(5));
        Assert.False(cold.Failed);
        var back = TargetHealth.Next(cold, new CheckResult(false, 3, 0, 0, "0/3 ready"), 2, 1, T0.AddSeconds(6));
        Assert.False(back.Failed); // starting again after zero replicas is not a new failure
    }

    [Fact]
    public void Objectives_RpoAndRtoMeasured_FromTimestamps()
    {
        var b = WithBackups();
        b.Policy.Spec.Objectives = new ObjectivesSpec { Rpo = "1m", Rto = "30s" };
        var backups = new[] { Backup("good", RunPhase.Completed, T0.AddSeconds(-40)) };
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(1), T0.AddSeconds(3));
        var plan = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(3.5)) with { Backups = backups });
        Assert.Equal(43.5, plan.Status.Objectives!.RpoSeconds);
        Assert.Equal(T0.AddSeconds(3.5), plan.Status.Objectives.MeasuredAt);
        // from the last passing check (first failed check at 1 s minus the 1 s interval) to the failover at 3.5 s
        Assert.Equal(3.5, plan.Status.Objectives.LastRtoSeconds);
        var last = plan.Status.Failover!.Last!;
        Assert.Equal(last.DetectionSeconds!.Value + last.SwitchSeconds!.Value, plan.Status.Objectives.LastRtoSeconds!.Value, 3);
        Assert.Equal(T0.AddSeconds(3.5), plan.Status.Objectives.LastIncident!.RecoveredAt);
        Assert.True(plan.Status.Objectives.RpoMet);
        Assert.True(plan.Status.Objectives.RtoMet);
        Assert.Equal("True", Cond(plan, ConditionSet.ObjectivesMet).Status);
        Assert.Equal("good", plan.Status.Backup!.LastCompleted);
        // the RPO check is due when the backup grows older than the objective
        Assert.True(plan.RequeueAfter <= TimeSpan.FromSeconds(16.5));
    }

    [Fact]
    public void Objectives_RpoBreached_ConditionFalseAndWarningOnce()
    {
        var b = WithBackups("0 0 * * *");
        b.Policy.Spec.Objectives = new ObjectivesSpec { Rpo = "1m" };
        var backups = new[] { Backup("good", RunPhase.Completed, T0.AddMinutes(-2)) };
        var plan = PolicyPlanner.Plan(b.Observe(T0) with { Backups = backups });
        var c = Cond(plan, ConditionSet.ObjectivesMet);
        Assert.Equal(("False", Reasons.ObjectivesBreached), (c.Status, c.Reason));
        Assert.Contains("exceeds spec.objectives.rpo 1m", c.Message, StringComparison.Ordinal);
        Assert.False(plan.Status.Objectives!.RpoMet);
        Assert.Contains(plan.Events, e => e.Reason == Reasons.ObjectivesBreached && e.Type == "Warning");
        b.Policy.Status = plan.Status;
        Assert.DoesNotContain(PolicyPlanner.Plan(b.Observe(T0) with { Backups = backups }).Events, e => e.Reason == Reasons.ObjectivesBreached);
    }

    [Fact]
    public void Objectives_NoneDeclared_TrueAndBackupsNotConfigured()
    {
        var plan = new PolicyBuilder().PlanAndApply(T0);
        Assert.Equal(Reasons.NoObjectives, Cond(plan, ConditionSet.ObjectivesMet).Reason);
        Assert.Equal(Reasons.NotConfigured, Cond(plan, ConditionSet.BackupsHealthy).Reason);
        Assert.Null(plan.Status.Backup);
        Assert.Null(plan.Status.Objectives);
    }
}
