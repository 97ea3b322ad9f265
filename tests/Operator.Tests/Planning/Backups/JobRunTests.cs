using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;

namespace ResilienceOperator.Tests.Planning;

/// <summary>Attempts, phases and backoff of backup and restore Jobs; names and the Job built from a template.</summary>
public sealed class JobRunTests
{
    private static readonly DateTime T0 = new(2026, 11, 23, 3, 0, 0, DateTimeKind.Utc);

    private static V1Job Job(int attempt, int active = 0, int succeeded = 0, int failed = 0, DateTime? failedAt = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = BackupNames.Job("b", attempt), Labels = new Dictionary<string, string> { [Labels.Attempt] = attempt.ToString(System.Globalization.CultureInfo.InvariantCulture) } },
        Status = new V1JobStatus
        {
            Active = active, Succeeded = succeeded, Failed = failed, StartTime = T0,
            CompletionTime = succeeded > 0 ? T0.AddSeconds(2) : null,
            Conditions = failedAt is { } f ? [new V1JobCondition { Type = "Failed", Status = "True", Reason = "BackoffLimitExceeded", LastTransitionTime = f }] : null,
        },
    };

    [Fact]
    public void Next_NoStatusNoJob_CreatesAttemptOnePending()
    {
        var d = JobRun.Next(null, "b", "backup", [], 2, TimeSpan.FromSeconds(2), T0);
        Assert.Equal((1, RunPhase.Pending, 1, "b-1"), (d.CreateAttempt, d.Status.Phase, d.Status.Attempts, d.Status.JobName));
    }

    [Fact]
    public void Next_JobExistsButStatusLost_NoSecondJob()
    {
        // the operator created attempt 1 and stopped before recording it
        var d = JobRun.Next(null, "b", "backup", [Job(1, active: 1)], 2, TimeSpan.FromSeconds(2), T0.AddSeconds(1));
        Assert.Null(d.CreateAttempt);
        Assert.Equal((RunPhase.Running, 1), (d.Status.Phase, d.Status.Attempts));
    }

    [Fact]
    public void Next_JobSucceeded_CompletedWithTimes()
    {
        var d = JobRun.Next(new ResilienceRunStatus { Phase = RunPhase.Running, Attempts = 1 }, "b", "backup", [Job(1, succeeded: 1)], 2, TimeSpan.FromSeconds(2), T0.AddSeconds(3));
        Assert.Equal(RunPhase.Completed, d.Status.Phase);
        Assert.Equal((T0, T0.AddSeconds(2)), (d.Status.StartTime!.Value, d.Status.CompletionTime!.Value));
        Assert.Equal("True", d.Status.Conditions!.Single().Status);
    }

    [Fact]
    public void Next_AttemptFailed_RetriedAfterBackoffThenFailed()
    {
        var running = new ResilienceRunStatus { Phase = RunPhase.Running, Attempts = 1 };
        var waiting = JobRun.Next(running, "b", "restore", [Job(1, failed: 1, failedAt: T0.AddSeconds(1))], 3, TimeSpan.FromSeconds(2), T0.AddSeconds(1.5));
        Assert.Null(waiting.CreateAttempt);
        Assert.Equal(TimeSpan.FromSeconds(1.5), waiting.RequeueAfter);
        Assert.Single(waiting.Events, e => e.Type == "Warning");
        var retry = JobRun.Next(waiting.Status, "b", "restore", [Job(1, failed: 1, failedAt: T0.AddSeconds(1))], 3, TimeSpan.FromSeconds(2), T0.AddSeconds(3));
        Assert.Equal(2, retry.CreateAttempt);
        Assert.Empty(retry.Events); // the failure was told once
        // attempt 2 fails: backoff doubles
        var second = JobRun.Next(retry.Status, "b", "restore", [Job(1, failed: 1, failedAt: T0.AddSeconds(1)), Job(2, failed: 1, failedAt: T0.AddSeconds(5))], 3, TimeSpan.FromSeconds(2), T0.AddSeconds(5));
        Assert.Equal(TimeSpan.FromSeconds(4), second.RequeueAfter);
        var last = JobRun.Next(second.Status, "b", "restore", [Job(3, failed: 1, failedAt: T0.AddSeconds(12))], 3, TimeSpan.FromSeconds(2), T0.AddSeconds(12));
        Assert.Equal(RunPhase.Failed, last.Status.Phase);
        Assert.Equal(T0.AddSeconds(12), last.Status.CompletionTime);
        Assert.Equal("False", last.Status.Conditions!.Single().Status);
    }

    [Fact]
    public void Next_Terminal_NothingMore()
    {
        var d = JobRun.Next(new ResilienceRunStatus { Phase = RunPhase.Failed, Attempts = 2 }, "b", "backup", [], 2, TimeSpan.FromSeconds(2), T0);
        Assert.Null(d.CreateAttempt);
    }

    [Fact]
    public void Names_LongNames_FitDnsLabelAndStayDeterministic()
    {
        var policy = new string('p', 60);
        var a = BackupNames.Backup(policy, T0, "offsite");
        Assert.True(a.Length <= 63);
        Assert.Equal(a, BackupNames.Backup(policy, T0, "offsite"));
        Assert.NotEqual(a, BackupNames.Backup(policy, T0.AddSeconds(1), "offsite"));
        Assert.Equal("checkout-20261123030000-offsite", BackupNames.Backup("checkout", T0, "offsite"));
        Assert.True(BackupNames.Job(a, 12).Length <= 63);
    }

    [Fact]
    public void Build_Job_OwnedLabelledWithEnvironment()
    {
        var backup = new ResilienceBackup { Metadata = new V1ObjectMeta { Name = "bk", NamespaceProperty = "shop", Uid = "u1" } };
        var template = new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Annotations = new Dictionary<string, string> { ["sim.resilience.dev/duration"] = "1s" } },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Env = [new V1EnvVar { Name = "TARGET", Value = "stale" }, new V1EnvVar { Name = "KEEP", Value = "1" }] }] },
        };
        var job = BackupJobs.Build(backup, Labels.Backup, "checkout", template, 2, "bk", "offsite", "primary");
        Assert.Equal("bk-2", job.Metadata.Name);
        Assert.Equal(("u1", true), (job.Metadata.OwnerReferences.Single().Uid, job.Metadata.OwnerReferences.Single().Controller!.Value));
        Assert.Equal("checkout", job.Metadata.Labels[Labels.Policy]);
        Assert.Equal("2", job.Metadata.Labels[Labels.Attempt]);
        Assert.Equal(0, job.Spec.BackoffLimit);
        Assert.Equal("Never", job.Spec.Template.Spec.RestartPolicy);
        Assert.Equal("1s", job.Spec.Template.Metadata.Annotations["sim.resilience.dev/duration"]);
        var env = job.Spec.Template.Spec.Containers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal(("bk", "checkout", "offsite", "primary", "1"), (env["BACKUP_NAME"], env["POLICY_NAME"], env["LOCATION"], env["TARGET"], env["KEEP"]));
        Assert.Null(template.Spec.Containers[0].Env.SingleOrDefault(e => e.Name == "BACKUP_NAME")); // the cached template is untouched
    }
}
