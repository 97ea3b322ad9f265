using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using ResilienceOperator.Tests.Planning;

namespace ResilienceOperator.Tests.Admission;

/// <summary>The spec-only checks the webhook and the reconcilers share.</summary>
public sealed class SpecValidationTests
{
    private static V1PodTemplateSpec Template() => new() { Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "busybox" }] } };

    [Fact]
    public void Policy_ValidSpec_NoErrors() => Assert.Empty(SpecValidation.Policy(new PolicyBuilder().Policy.Spec));

    [Theory]
    [InlineData("timeout-over-interval", "spec.healthCheck.timeout: 5s is longer than spec.healthCheck.interval 1s")]
    [InlineData("both-probes", "spec.healthCheck: set http or tcp, not both")]
    [InlineData("detection-over-rto", "spec.healthCheck: interval 1s × retries 2 = 2s is longer than spec.objectives.rto 1500ms")]
    [InlineData("duplicate-targets", "spec.targets[1].name: duplicate target \"primary\"")]
    [InlineData("shed-a-target", "spec.degradation.shed[0].name: \"standby\" is a target of this policy")]
    [InlineData("duplicate-shed", "spec.degradation.shed[1].name: duplicate \"extras\"")]
    [InlineData("fallback-shed", "spec.degradation.fallback: \"extras\" is also shed")]
    [InlineData("bad-cron", "spec.backup.schedule: \"61 * * * *\" is not a valid cron expression")]
    [InlineData("bad-time-zone", "spec.backup.timeZone: unknown time zone \"Mars/Olympus\"")]
    [InlineData("duplicate-location", "spec.backup.locations[1]: duplicate location \"offsite\"")]
    [InlineData("restore-without-template", "spec.restore.template: required")]
    [InlineData("bad-drill-schedule", "spec.drills.schedule")]
    public void Policy_SpecOnlyMistake_NamesTheField(string @case, string expected)
    {
        var spec = new PolicyBuilder().Policy.Spec;
        switch (@case)
        {
            case "timeout-over-interval": spec.HealthCheck!.Timeout = "5s"; break;
            case "both-probes":
                spec.HealthCheck!.Http = new HttpProbeSpec { Port = 8080 };
                spec.HealthCheck.Tcp = new TcpProbeSpec { Port = 8080 };
                break;
            case "detection-over-rto": spec.Objectives = new ObjectivesSpec { Rto = "1500ms" }; break;
            case "duplicate-targets": spec.Targets[1].Name = "primary"; break;
            case "shed-a-target": spec.Degradation = new DegradationSpec { Shed = [new ShedSpec { Name = "standby" }] }; break;
            case "duplicate-shed": spec.Degradation = new DegradationSpec { Shed = [new ShedSpec { Name = "extras" }, new ShedSpec { Name = "extras" }] }; break;
            case "fallback-shed": spec.Degradation = new DegradationSpec { Shed = [new ShedSpec { Name = "extras" }], Fallback = "extras" }; break;
            case "bad-cron": spec.Backup = new BackupSpec { Schedule = "61 * * * *", Template = Template() }; break;
            case "bad-time-zone": spec.Backup = new BackupSpec { Schedule = "0 * * * *", TimeZone = "Mars/Olympus", Template = Template() }; break;
            case "duplicate-location": spec.Backup = new BackupSpec { Schedule = "0 * * * *", Locations = ["offsite", "offsite"], Template = Template() }; break;
            case "restore-without-template": spec.HealthCheck!.OnFail = FailAction.Restore; break;
            case "bad-drill-schedule": spec.Drills = new DrillsSpec { Schedule = "0 25 * * *" }; break;
        }
        var error = Assert.Single(SpecValidation.Policy(spec));
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_SeveralMistakes_EveryFieldReported()
    {
        var spec = new PolicyBuilder().Policy.Spec;
        spec.HealthCheck!.Timeout = "5s";
        spec.Degradation = new DegradationSpec { Shed = [new ShedSpec { Name = "primary" }] };
        spec.Drills = new DrillsSpec { Schedule = "nonsense here" };
        var errors = SpecValidation.Policy(spec);
        Assert.Equal(3, errors.Count);
        Assert.StartsWith("spec.healthCheck.timeout", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("spec.degradation.shed[0].name", errors[1], StringComparison.Ordinal);
        Assert.StartsWith("spec.drills.schedule", errors[2], StringComparison.Ordinal);
    }

    /// <summary>One source of truth: what the webhook denies, the reconciler reports with the same words.</summary>
    [Theory]
    [InlineData("timeout-over-interval")]
    [InlineData("shed-a-target")]
    [InlineData("both-probes")]
    public void Policy_SameMessageAsTheReconcilersInvalidSpec(string @case)
    {
        var b = new PolicyBuilder();
        switch (@case)
        {
            case "timeout-over-interval": b.Policy.Spec.HealthCheck!.Timeout = "5s"; break;
            case "shed-a-target": b.Policy.Spec.Degradation = new DegradationSpec { Shed = [new ShedSpec { Name = "standby" }] }; break;
            case "both-probes":
                b.Policy.Spec.HealthCheck!.Http = new HttpProbeSpec { Port = 8080 };
                b.Policy.Spec.HealthCheck.Tcp = new TcpProbeSpec { Port = 8080 };
                break;
        }
        var webhook = Assert.Single(SpecValidation.Policy(b.Policy.Spec));
        var plan = PolicyPlanner.Plan(b.Observe(PolicyBuilder.T0));
        var ready = ConditionSet.Find(plan.Status.Conditions, ConditionSet.Ready)!;
        Assert.Equal(("False", Reasons.InvalidSpec, webhook), (ready.Status, ready.Reason, ready.Message));
    }

    [Fact]
    public void Runs_SpecOnlyChecks()
    {
        Assert.Null(SpecValidation.Backup(new ResilienceBackupSpec { Policy = "checkout" }));
        Assert.Equal("spec.policy: required", SpecValidation.Backup(new ResilienceBackupSpec()));
        Assert.StartsWith("spec.location:", SpecValidation.Backup(new ResilienceBackupSpec { Policy = "checkout", Location = "Off Site" }), StringComparison.Ordinal);
        Assert.Null(SpecValidation.Restore(new ResilienceRestoreSpec { Policy = "checkout", Target = "primary" }));
        Assert.Equal("spec.target: required", SpecValidation.Restore(new ResilienceRestoreSpec { Policy = "checkout" }));
        Assert.Null(SpecValidation.Drill(new ResilienceDrillSpec { Policy = "checkout" }));
        Assert.Equal("spec.maxUnavailable: must be at least 1", SpecValidation.Drill(new ResilienceDrillSpec { Policy = "checkout", MaxUnavailable = 0 }));
    }
}
