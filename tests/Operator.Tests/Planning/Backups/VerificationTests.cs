using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using static ResilienceOperator.Tests.Planning.PolicyBuilder;

namespace ResilienceOperator.Tests.Planning;

/// <summary>Restore tests: scheduling, the steps, the scratch copy, the conditions and the RPO from verified backups.</summary>
public sealed class VerificationTests
{
    private static readonly V1PodTemplateSpec Template = new() { Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "busybox" }] } };

    private static PolicyBuilder Verifying(string verifySchedule = "*/10 * * * * *")
    {
        var b = new PolicyBuilder();
        b.Policy.Metadata.CreationTimestamp = T0.AddMinutes(-30);
        b.Policy.Spec.Backup = new BackupSpec
        {
            Schedule = "0 0 1 1 *", Template = Template, Verify = new BackupVerifySpec { Schedule = verifySchedule, Template = Template },
        };
        b.Policy.Spec.Restore = new RestoreSpec { Template = Template };
        return b;
    }

    private static ResilienceBackup Completed(string name, DateTime completed, VerificationPhase? phase = null)
    {
        var b = BackupPlanningTests.Backup(name, RunPhase.Completed, completed);
        if (phase is not null)
        {
            b.Status!.Verification = new BackupVerificationStatus { Phase = phase, Time = completed.AddMinutes(1), Message = "m" };
            b.Status.Conditions = [];
            var (s, r, m) = Verification.Condition(b.Status.Verification);
            ConditionSet.Set(b.Status.Conditions, LastKnownGood.Verified, s, r, m, null, completed);
        }
        return b;
    }

    private static V1Job Job(string name, bool? succeeded) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Status = new V1JobStatus
        {
            StartTime = T0, Active = succeeded is null ? 1 : 0,
            Conditions = succeeded is null ? null : [new V1JobCondition { Type = succeeded.Value ? "Complete" : "Failed", Status = "True" }],
        },
    };

    [Fact]
    public void Schedule_DueSlot_TestsTheNewestUntestedGoodBackup_OncePerSlot()
    {
        var b = Verifying();
        var backups = new[] { Completed("old", T0.AddMinutes(-5)), Completed("tested", T0.AddMinutes(-2), VerificationPhase.Passed), Completed("new", T0.AddMinutes(-3)) };
        var plan = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(10.2)) with { Backups = backups });
        var v = Assert.Single(plan.VerifyBackups);
        Assert.Equal(("new", T0.AddSeconds(10), "schedule"), (v.Backup, v.Slot, v.RequestedBy));
        Assert.Equal(T0.AddSeconds(10), plan.Status.Backup!.LastVerifyScheduleTime);
        b.Policy.Status = plan.Status;
        Assert.Empty(PolicyPlanner.Plan(b.Observe(T0.AddSeconds(12)) with { Backups = backups }).VerifyBackups);
    }

    [Fact]
    public void Schedule_OneTestAtATime_NoneWhileOneRuns()
    {
        var b = Verifying();
        b.Policy.Spec.Backup!.Retention = new RetentionSpec { KeepLast = 1 };
        var backups = new[]
        {
            Completed("under-test", T0.AddMinutes(-5), VerificationPhase.Restoring), Completed("older", T0.AddMinutes(-6)), Completed("new", T0.AddMinutes(-1)),
        };
        b.Health["primary"] = b.Health["primary"] with { LastPassedAt = T0.AddSeconds(10) }; // a check passed after every backup
        var plan = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(10.2)) with { Backups = backups });
        Assert.Empty(plan.VerifyBackups);
        // Retention keeps the backup under test while it is tested.
        Assert.Equal(["older"], plan.DeleteBackups);
    }

    [Fact]
    public void DryRun_PlansTheTestInPlannedActions()
    {
        var b = Verifying();
        b.Policy.Spec.Enforcement = EnforcementMode.DryRun;
        var plan = PolicyPlanner.Plan(b.Observe(T0.AddSeconds(10.2)) with { Backups = [Completed("new", T0.AddMinutes(-1))] });
        Assert.Contains(plan.Status.PlannedActions!, a => a.Action == DryRun.VerifyBackup && a.Object == "ResilienceBackup/new");
    }

    [Theory]
    [InlineData("bad cron", "spec.backup.verify.schedule:")]
    public void BadVerifySchedule_BackupsHealthyInvalidSpecNamingTheField(string schedule, string expected)
    {
        var b = Verifying(schedule);
        var c = ConditionSet.Find(PolicyPlanner.Plan(b.Observe(T0)).Status.Conditions, ConditionSet.BackupsHealthy)!;
        Assert.Equal(("False", Reasons.InvalidSpec), (c.Status, c.Reason));
        Assert.StartsWith(expected, c.Message, StringComparison.Ordinal);
        Assert.Contains(SpecValidation.Policy(b.Policy.Spec), e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void VerifyWithoutRestoreTemplate_Rejected()
    {
        var b = Verifying();
        b.Policy.Spec.Restore = null;
        Assert.Contains(SpecValidation.Policy(b.Policy.Spec), e => e.StartsWith("spec.backup.verify: needs spec.restore.template", StringComparison.Ordinal));
    }

    [Fact]
    public void Steps_ScratchAndRestoreJob_ThenVerifyJob_ThenResultAndScratchRemoved()
    {
        var backup = Completed("bk", T0);
        backup.Status!.Verification = Verification.Request("schedule", T0);
        var s1 = Verification.Next(backup, scratchExists: false, null, null, T0);
        Assert.Equal((VerificationPhase.Restoring, true, true, false, false),
            (s1.Status.Phase!.Value, s1.CreateScratch, s1.CreateRestoreJob, s1.CreateVerifyJob, s1.DeleteScratch));
        Assert.Equal(("bk-scratch", "bk-restore-test"), (s1.Status.Scratch, s1.Status.RestoreJob));

        // A restart: the same step again finds the scratch copy and the Job made, and makes neither again.
        backup.Status.Verification = s1.Status;
        var again = Verification.Next(backup, scratchExists: true, Job("bk-restore-test", null), null, T0.AddSeconds(1));
        Assert.Equal((VerificationPhase.Restoring, false, false), (again.Status.Phase!.Value, again.CreateScratch, again.CreateRestoreJob));

        var s2 = Verification.Next(backup, true, Job("bk-restore-test", true), null, T0.AddSeconds(2));
        Assert.Equal((VerificationPhase.Verifying, true, "bk-verify"), (s2.Status.Phase!.Value, s2.CreateVerifyJob, s2.Status.VerifyJob));
        backup.Status.Verification = s2.Status;
        var s3 = Verification.Next(backup, true, Job("bk-restore-test", true), Job("bk-verify", true), T0.AddSeconds(3));
        Assert.Equal((VerificationPhase.Passed, true, true), (s3.Status.Phase!.Value, s3.DeleteScratch, s3.Finished));
        Assert.Equal(Reasons.BackupVerified, Assert.Single(s3.Events).Reason);
        backup.Status.Verification = s3.Status;
        var after = Verification.Next(backup, false, null, null, T0.AddSeconds(4));
        Assert.False(after.DeleteScratch || after.Finished || after.CreateScratch);
    }

    [Fact]
    public void Steps_RestoreIntoScratchFails_FailedAndScratchRemoved()
    {
        var backup = Completed("bk", T0);
        backup.Status!.Verification = new BackupVerificationStatus { Phase = VerificationPhase.Restoring, Scratch = "bk-scratch", RestoreJob = "bk-restore-test" };
        var step = Verification.Next(backup, true, Job("bk-restore-test", false), null, T0);
        Assert.Equal((VerificationPhase.Failed, true, false), (step.Status.Phase!.Value, step.DeleteScratch, step.CreateVerifyJob));
        Assert.Equal(Reasons.BackupVerificationFailed, Assert.Single(step.Events).Reason);
    }

    [Fact]
    public void ScratchCopy_OwnLabelsOnly_NoReadinessGate_OneReplica_OwnedByTheBackup()
    {
        var target = Deployment("primary", 3);
        target.Spec.Template.Spec.ReadinessGates = [new V1PodReadinessGate { ConditionType = PodConditions.Healthy }];
        var backup = Completed("bk", T0);
        var copy = Verification.ScratchCopy(target, backup, "bk-scratch");
        Assert.Equal(new Dictionary<string, string> { [Labels.Scratch] = "bk" }, copy.Spec.Template.Metadata.Labels);
        Assert.Equal(copy.Spec.Template.Metadata.Labels, copy.Spec.Selector.MatchLabels);
        Assert.Null(copy.Spec.Template.Spec.ReadinessGates);
        Assert.Equal((1, "bk", "ResilienceBackup"), (copy.Spec.Replicas!.Value, copy.Metadata.OwnerReferences.Single().Name, copy.Metadata.OwnerReferences[0].Kind));
        Assert.NotNull(target.Spec.Template.Spec.ReadinessGates); // the target itself is untouched
    }

    private static V1StatefulSet StatefulSet(string name, int replicas)
    {
        var d = Deployment(name, replicas);
        return new V1StatefulSet
        {
            ApiVersion = "apps/v1", Kind = "StatefulSet", Metadata = d.Metadata,
            Spec = new V1StatefulSetSpec
            {
                Replicas = replicas, Selector = d.Spec.Selector, Template = d.Spec.Template, ServiceName = name + "-headless",
                PodManagementPolicy = "Parallel",
                VolumeClaimTemplates =
                [
                    new V1PersistentVolumeClaim
                    {
                        Metadata = new V1ObjectMeta { Name = "data", Labels = new Dictionary<string, string> { ["tier"] = "db" } },
                        Spec = new V1PersistentVolumeClaimSpec
                        {
                            AccessModes = ["ReadWriteOnce"], StorageClassName = "fast",
                            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
                        },
                        Status = new V1PersistentVolumeClaimStatus { Phase = "Pending" },
                    },
                ],
            },
        };
    }

    [Fact]
    public void ScratchCopy_OfAStatefulSet_AStatefulSetInTheDeploymentCopysShape_KeepsItsVolumeClaimTemplates()
    {
        var target = StatefulSet("primary", 3);
        target.Spec.Template.Spec.ReadinessGates = [new V1PodReadinessGate { ConditionType = PodConditions.Healthy }];
        var backup = Completed("bk", T0);
        var copy = Verification.ScratchCopy(target, backup, "bk-scratch");
        var deploymentCopy = Verification.ScratchCopy(Deployment("primary", 3), backup, "bk-scratch");

        Assert.Equal(("StatefulSet", "bk-scratch", 1), (copy.Kind, copy.Metadata.Name, copy.Spec.Replicas!.Value));
        // The same scratch shape as a Deployment copy: the scratch label only, never the target's, so the Service never selects its pods.
        Assert.Equal(deploymentCopy.Metadata.Labels, copy.Metadata.Labels);
        Assert.Equal(deploymentCopy.Metadata.Annotations, copy.Metadata.Annotations);
        Assert.Equal(new Dictionary<string, string> { [Labels.Scratch] = "bk" }, copy.Spec.Template.Metadata.Labels);
        Assert.Equal(copy.Spec.Template.Metadata.Labels, copy.Spec.Selector.MatchLabels);
        Assert.DoesNotContain(target.Spec.Selector.MatchLabels, l => copy.Spec.Template.Metadata.Labels.Contains(l));
        Assert.Null(copy.Spec.Template.Spec.ReadinessGates);
        Assert.Equal((1, "bk", "ResilienceBackup", true), (copy.Metadata.OwnerReferences.Count, copy.Metadata.OwnerReferences[0].Name,
            copy.Metadata.OwnerReferences[0].Kind, copy.Metadata.OwnerReferences[0].Controller == true));
        // The volumes a restore writes into: the claim templates, without the cached status; the serviceName stays.
        var claim = Assert.Single(copy.Spec.VolumeClaimTemplates);
        Assert.Equal(("data", "db", "fast", "1Gi"), (claim.Metadata.Name, claim.Metadata.Labels["tier"], claim.Spec.StorageClassName,
            claim.Spec.Resources.Requests["storage"].ToString()));
        Assert.Null(claim.Status);
        Assert.Equal(("primary-headless", "Parallel"), (copy.Spec.ServiceName, copy.Spec.PodManagementPolicy));
        // The target itself is untouched.
        Assert.NotNull(target.Spec.Template.Spec.ReadinessGates);
        Assert.NotNull(target.Spec.VolumeClaimTemplates[0].Status);
        Assert.NotSame(target.Spec.VolumeClaimTemplates[0].Spec, claim.Spec);
    }

    [Theory]
    [InlineData("data-bk-scratch-0", true)]
    [InlineData("data-bk-scratch-12", true)]
    [InlineData("logs-x-bk-scratch-1", true)]
    [InlineData("data-bk-scratch-", false)]
    [InlineData("data-bk-scratch-a", false)]
    [InlineData("bk-scratch-0", false)]
    [InlineData("data-primary-0", false)]
    [InlineData("data-other-bk-scratch2-0", false)]
    public void ScratchClaims_OnlyThoseTheStatefulSetControllerNamesForTheScratchCopy(string claim, bool scratch) =>
        Assert.Equal(scratch, Verification.IsScratchClaim(claim, "bk-scratch"));

    [Fact]
    public void ScratchSelector_IsTheLabelTheScratchCopysSelectorCarries()
    {
        var copy = Verification.ScratchCopy(StatefulSet("primary", 1), Completed("bk", T0), "bk-scratch");
        var (key, value) = copy.Spec.Selector.MatchLabels.Single();
        Assert.Equal($"{key}={value}", Verification.ScratchSelector("bk"));
    }

    [Fact]
    public void Conditions_BackupsVerifiedFollowsTheNewestFinishedTest_LastVerifiedAndRpoFromVerified()
    {
        var b = Verifying();
        b.Policy.Spec.Objectives = new ObjectivesSpec { Rpo = "1h", RpoFrom = RpoFrom.Verified };
        var backups = new[] { Completed("passed", T0.AddMinutes(-50), VerificationPhase.Passed), Completed("newest", T0.AddMinutes(-1)) };
        var plan = PolicyPlanner.Plan(b.Observe(T0) with { Backups = backups });
        Assert.Equal(("passed", "newest"), (plan.Status.Backup!.LastVerified, plan.Status.Backup.LastCompleted));
        Assert.Equal(50 * 60, plan.Status.Objectives!.RpoSeconds);
        Assert.Equal("True", ConditionSet.Find(plan.Status.Conditions, RecoveryPlanner.BackupsVerified)!.Status);

        var failed = new[] { backups[0], Completed("failed", T0.AddMinutes(-40), VerificationPhase.Failed) };
        var after = PolicyPlanner.Plan(b.Observe(T0.AddMinutes(11)) with { Backups = failed });
        var c = ConditionSet.Find(after.Status.Conditions, RecoveryPlanner.BackupsVerified)!;
        Assert.Equal(("False", Reasons.BackupVerificationFailed), (c.Status, c.Reason));
        Assert.Contains(after.Events, e => e.Reason == Reasons.BackupVerificationFailed);
        // 61 minutes since the newest verified backup: the RPO is breached although a newer one completed.
        Assert.Equal("False", ConditionSet.Find(after.Status.Conditions, ConditionSet.ObjectivesMet)!.Status);

        b.Policy.Spec.Backup!.Verify = null;
        Assert.Null(ConditionSet.Find(PolicyPlanner.Plan(b.Observe(T0) with { Backups = backups }).Status.Conditions, RecoveryPlanner.BackupsVerified));
    }

    [Fact]
    public void Cannot_TargetGoneBeforeTheCopy_FailedWithWhy_NothingMade_ScratchRemoved_OriginalUntouched()
    {
        var v = new BackupVerificationStatus
        {
            Phase = VerificationPhase.Restoring, RequestedBy = "schedule", RestoreJob = "b-restore-test", StartTime = T0,
        };
        var step = Verification.Cannot(v, "b-scratch", "target Deployment primary not found to copy", T0.AddSeconds(5));
        Assert.Equal((false, false, false, true, true), (step.CreateScratch, step.CreateRestoreJob, step.CreateVerifyJob, step.DeleteScratch, step.Finished));
        Assert.Equal((VerificationPhase.Failed, "b-scratch", true, T0.AddSeconds(5)),
            (step.Status.Phase, step.Status.Scratch, step.Status.ScratchRemoved, step.Status.Time));
        Assert.Equal("cannot verify: target Deployment primary not found to copy", step.Status.Message);
        Assert.Equal(("schedule", "b-restore-test", T0), (step.Status.RequestedBy, step.Status.RestoreJob, step.Status.StartTime));
        var e = Assert.Single(step.Events);
        Assert.Equal(("Warning", Reasons.BackupVerificationFailed, step.Status.Message), (e.Type, e.Reason, e.Message));
        Assert.Equal(VerificationPhase.Restoring, v.Phase);
    }
}

/// <summary>The VerifyBackup drill's choice of backup.</summary>
public sealed class VerifyBackupDrillTests
{
    [Fact]
    public void BackupToVerify_NewestUntestedGood_OrRefusedNamingWhy()
    {
        var policy = new ResiliencePolicy { Metadata = new V1ObjectMeta { Name = "checkout" }, Spec = new ResiliencePolicySpec() };
        Assert.Equal(Reasons.InvalidSpec, DrillPlanner.BackupToVerify(policy, []).Refusal!.Reason);
        V1PodTemplateSpec template = new() { Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "busybox" }] } };
        policy.Spec.Backup = new BackupSpec { Schedule = "@daily", Template = template, Verify = new BackupVerifySpec { Schedule = "@daily", Template = template } };
        policy.Spec.Restore = new RestoreSpec { Template = template };
        Assert.Equal(Reasons.NoBackupToVerify, DrillPlanner.BackupToVerify(policy, []).Refusal!.Reason);
        var tested = BackupPlanningTests.Backup("tested", RunPhase.Completed, T0.AddMinutes(-1));
        tested.Status!.Verification = new BackupVerificationStatus { Phase = VerificationPhase.Passed };
        var backups = new[] { BackupPlanningTests.Backup("untested", RunPhase.Completed, T0.AddMinutes(-2)), tested };
        Assert.Equal(("untested", null), DrillPlanner.BackupToVerify(policy, backups));
        tested.Status.Verification.Phase = VerificationPhase.Verifying;
        Assert.Equal(Reasons.AnotherDrillRunning, DrillPlanner.BackupToVerify(policy, backups).Refusal!.Reason);
    }
}
