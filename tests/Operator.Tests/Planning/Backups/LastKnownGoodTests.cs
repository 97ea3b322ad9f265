using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

/// <summary>Suspect backups, the last passing check and the last known good backup an incident restores.</summary>
public sealed class LastKnownGoodTests
{
    private static ResilienceBackup Backup(string name, DateTime completed, bool suspect = false, bool verified = false)
    {
        var b = BackupPlanningTests.Backup(name, RunPhase.Completed, completed);
        b.Status!.Conditions = [];
        if (suspect) ConditionSet.Set(b.Status.Conditions, LastKnownGood.Suspect, "True", Reasons.SuspectBackup, "source failing", null, completed);
        if (verified) ConditionSet.Set(b.Status.Conditions, LastKnownGood.Verified, "True", "Passed", "restore test passed", null, completed);
        return b;
    }

    private static PolicyBuilder Restoring()
    {
        var b = new PolicyBuilder();
        b.Policy.Metadata.CreationTimestamp = T0.AddMinutes(-30);
        V1PodTemplateSpec template = new() { Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "busybox" }] } };
        b.Policy.Spec.Backup = new BackupSpec { Schedule = "0 0 1 1 *", Template = template };
        b.Policy.Spec.Restore = new RestoreSpec { Template = template };
        b.Policy.Spec.HealthCheck!.OnFail = FailAction.FailoverAndRestore;
        return b;
    }

    [Fact]
    public void Incident_BackupCompletedAfterLastPassingCheck_NotRestored_TheOneBeforeIs()
    {
        var b = Restoring();
        b.PlanAndApply(T0);
        var lastPass = T0.AddSeconds(0.5);
        // A backup of the failing primary completed a second after the fault, before detection.
        var backups = new[] { Backup("before", T0.AddSeconds(-3)), Backup("after-fault", T0.AddSeconds(1)) };
        b.Health["primary"] = Unhealthy(T0.AddSeconds(1.5), T0.AddSeconds(2.5)) with { LastPassedAt = lastPass };
        var plan = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(2.5)) with { Backups = backups });
        var incident = Assert.Single(plan.Status.Incidents!);
        Assert.Equal(("before", lastPass), (incident.Backup, incident.LastPassingCheck));
        Assert.Contains("before the last passing check", incident.BackupReason, StringComparison.Ordinal);
        Assert.Contains("1 newer backup(s) skipped", incident.BackupReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Incident_CompletionTimeInWholeSeconds_CountsAsUpToASecondLater()
    {
        var b = Restoring();
        b.PlanAndApply(T0);
        // Recorded as T0 (whole seconds), it may have completed at T0+0.9 s: after the last pass at T0+0.5 s.
        var backups = new[] { Backup("older", T0.AddSeconds(-5)), Backup("same-second", T0) };
        b.Health["primary"] = Unhealthy(T0.AddSeconds(1.5), T0.AddSeconds(2.5)) with { LastPassedAt = T0.AddSeconds(0.5) };
        Assert.Equal("older", PolicyPlanner.Plan(b.Observe(T0.AddSeconds(2.5)) with { Backups = backups }).Status.Incidents!.Single().Backup);
    }

    [Fact]
    public void Incident_NoLastPassInMemory_OneIntervalBeforeTheFirstFailedCheck()
    {
        var b = Restoring();
        b.PlanAndApply(T0);
        b.Health["primary"] = Unhealthy(T0.AddSeconds(10), T0.AddSeconds(11));
        var plan = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(11)) with { Backups = [Backup("a", T0.AddSeconds(-1))] });
        Assert.Equal(T0.AddSeconds(9), plan.Status.Incidents!.Single().LastPassingCheck);
    }

    [Fact]
    public void Incident_PrefersNewestVerified_SkipsSuspect()
    {
        var b = Restoring();
        b.PlanAndApply(T0);
        var backups = new[]
        {
            Backup("verified-old", T0.AddMinutes(-20), verified: true),
            Backup("verified", T0.AddMinutes(-10), verified: true),
            Backup("unverified", T0.AddMinutes(-5)),
            Backup("suspect", T0.AddMinutes(-1), suspect: true, verified: true),
        };
        b.Health["primary"] = Unhealthy(T0.AddSeconds(1), T0.AddSeconds(3)) with { LastPassedAt = T0 };
        var incident = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(3)) with { Backups = backups }).Status.Incidents!.Single();
        Assert.Equal("verified", incident.Backup);
        Assert.StartsWith("newest verified backup", incident.BackupReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Incident_OnlySuspectBackups_NoRestore_EventAndConditionSaySo()
    {
        var b = Restoring();
        b.PlanAndApply(T0);
        var backups = new[] { Backup("suspect", T0.AddMinutes(-1), suspect: true), Backup("late", T0.AddSeconds(2)) };
        b.Health["primary"] = Unhealthy(T0.AddSeconds(1), T0.AddSeconds(3)) with { LastPassedAt = T0 };
        var plan = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(3)) with { Backups = backups });
        var incident = plan.Status.Incidents!.Single();
        Assert.Equal((null, null), (incident.Restore, incident.Backup));
        Assert.Contains(plan.Events, e => e.Reason == Reasons.NoGoodBackup && e.Type == "Warning");
        var c = ConditionSet.Find(plan.Status.Conditions, ConditionSet.BackupsHealthy)!;
        Assert.Equal(("False", Reasons.NoGoodBackup), (c.Status, c.Reason));
        Assert.Contains("1 suspect and 1 completed too late", c.Message, StringComparison.Ordinal);
        b.Policy.Status = plan.Status;
        Assert.Empty(PolicyPlanner.Plan(b.Observe(T0.AddSeconds(4)) with { Backups = backups }).CreateRestores);
    }

    [Fact]
    public void Retention_KeepsTheLastGoodBackupBehindNewerSuspectOnes()
    {
        var b = Restoring();
        b.Policy.Spec.Backup!.Retention = new RetentionSpec { KeepLast = 1 };
        var backups = new[] { Backup("good", T0.AddMinutes(-3)), Backup("s1", T0.AddMinutes(-2), suspect: true), Backup("s2", T0.AddMinutes(-1), suspect: true) };
        var plan = PolicyPlanner.Plan(b.Observe(T0) with { Backups = backups });
        Assert.Equal(["s1"], plan.DeleteBackups);
    }

    [Fact]
    public void Retention_KeepsTheNewestVerifiedBackup()
    {
        var b = Restoring();
        b.Policy.Spec.Backup!.Retention = new RetentionSpec { KeepLast = 1 };
        var backups = new[] { Backup("verified", T0.AddMinutes(-3), verified: true), Backup("b1", T0.AddMinutes(-2)), Backup("b2", T0.AddMinutes(-1)) };
        b.Health["primary"] = b.Health["primary"] with { LastPassedAt = T0 }; // a check passed after every backup
        var plan = PolicyPlanner.Plan(b.Observe(T0) with { Backups = backups });
        Assert.Equal(["b1"], plan.DeleteBackups);
    }

    [Theory]
    [InlineData(true, 0, null, true)] // passing
    [InlineData(true, 1, 5.0, true)] // failing since after the moment asked about
    [InlineData(true, 1, 1.0, false)] // a failed check, not yet declared: failing
    [InlineData(false, 2, 1.0, false)] // declared failed
    public void SourceHealthy_FromStatusTargets_AFailedCheckCountsAtOnce(bool healthy, int failures, double? firstFailure, bool expected)
    {
        var policy = new ResiliencePolicy
        {
            Status = new ResiliencePolicyStatus
            {
                Targets = [new TargetStatus
                {
                    Name = "primary", Healthy = healthy, ConsecutiveFailures = failures, LastTransitionTime = T0.AddMinutes(-1),
                    FirstFailureTime = firstFailure is { } f ? T0.AddSeconds(f) : null,
                }],
            },
        };
        Assert.Equal(expected, LastKnownGood.SourceHealthy(policy, "primary", T0.AddSeconds(2)));
        Assert.Null(LastKnownGood.SourceHealthy(policy, "other", T0));
    }

    [Fact]
    public void SuspectReason_SourceFailingOrCompletedAfterAnOpenIncidentsLastPass()
    {
        var policy = new ResiliencePolicy
        {
            Status = new ResiliencePolicyStatus
            {
                Incidents = [new IncidentStatus { Target = "primary", LastPassingCheck = T0, DetectedAt = T0.AddSeconds(3) }],
            },
        };
        var before = Backup("before", T0.AddSeconds(-2));
        before.Status!.Source = new BackupSourceStatus { Target = "primary", HealthyAtStart = true, HealthyAtEnd = true };
        Assert.Null(LastKnownGood.SuspectReason(before, policy));
        var after = Backup("after", T0.AddSeconds(1));
        after.Status!.Source = new BackupSourceStatus { Target = "primary", HealthyAtStart = true, HealthyAtEnd = true };
        Assert.Contains("after the last passing check", LastKnownGood.SuspectReason(after, policy), StringComparison.Ordinal);
        var standby = Backup("standby", T0.AddSeconds(1));
        standby.Status!.Source = new BackupSourceStatus { Target = "standby", HealthyAtStart = true, HealthyAtEnd = true };
        Assert.Null(LastKnownGood.SuspectReason(standby, policy));
        var failing = Backup("failing", T0.AddSeconds(-60));
        failing.Status!.Source = new BackupSourceStatus { Target = "standby", HealthyAtStart = false };
        Assert.Contains("when the backup started", LastKnownGood.SuspectReason(failing, null), StringComparison.Ordinal);
    }

    [Fact]
    public void TargetHealth_RemembersTheLastPassingCheck()
    {
        var pass = new CheckResult(true, 2, 2, 2, "ok");
        var fail = new CheckResult(false, 2, 0, 0, "down");
        var h = TargetHealth.Next(null, pass, 2, 1, T0);
        h = TargetHealth.Next(h, pass, 2, 1, T0.AddSeconds(1));
        h = TargetHealth.Next(h, fail, 2, 1, T0.AddSeconds(2));
        h = TargetHealth.Next(h, fail, 2, 1, T0.AddSeconds(3));
        Assert.Equal((T0.AddSeconds(1), T0.AddSeconds(2), true), (h.LastPassedAt!.Value, h.FirstFailureTime!.Value, h.Failed));
        Assert.Equal(T0.AddSeconds(1), RecoveryPlanner.LastPassingCheck(h, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void RestoreSpec_AllowSuspectWithoutANamedBackup_Rejected()
    {
        Assert.StartsWith("spec.allowSuspect:", SpecValidation.Restore(new ResilienceRestoreSpec { Policy = "p", Target = "t", AllowSuspect = true }),
            StringComparison.Ordinal);
        Assert.Null(SpecValidation.Restore(new ResilienceRestoreSpec { Policy = "p", Target = "t", Backup = "b", AllowSuspect = true }));
    }
}
