using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Backups;

/// <summary>Scheduled backups, retention, failed backups and restarts on the local control plane.</summary>
[Collection("cluster")]
public sealed class BackupTests(ClusterFixture cluster)
{
    private async Task<(Scenario, OperatorRunner)> StartAsync(string prefix, Action<ResiliencePolicySpec> configure)
    {
        var s = await Scenario.CreateAsync(cluster, prefix);
        await s.WaitForReadyAsync("primary", 2);
        var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, configure));
        return (s, op);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Schedule_EveryThreeSeconds_BackupsCompleteAndRetentionHoldsKeepLast()
    {
        var (s, op) = await StartAsync("bk-sched", spec => BackupScenario.WithBackups(spec, "*/3 * * * * *", keepLast: 2));
        await using var _ = op;
        var seen = new HashSet<string>();
        var maxCompleted = 0;
        await BackupScenario.WaitAsync(async () =>
        {
            var backups = await s.BackupsAsync();
            foreach (var b in backups) seen.Add(b.Metadata.Name);
            maxCompleted = Math.Max(maxCompleted, backups.Count(b => b.Status?.Phase == RunPhase.Completed));
            return seen.Count >= 5;
        }, 25, "five scheduled backups");
        // Retention lags a completion by one reconcile at most: never more than keepLast + 1 completed.
        Assert.InRange(maxCompleted, 2, 3);
        await BackupScenario.WaitAsync(async () => (await s.BackupsAsync()).Count(b => b.Status?.Phase == RunPhase.Completed) <= 2, 5, "retention keeps 2");

        var all = await s.BackupsAsync();
        Assert.All(all, b =>
        {
            Assert.Matches("^checkout-[0-9]{14}-default$", b.Metadata.Name);
            Assert.Equal("checkout", b.Metadata.Labels["resilience.dev/policy"]);
            Assert.Equal("ResiliencePolicy", b.Metadata.OwnerReferences.Single().Kind);
            Assert.Equal(0, b.Spec.ScheduledTime!.Value.Second % 3);
        });
        // One backup per slot.
        Assert.Equal(all.Count, all.Select(b => b.Spec.ScheduledTime).Distinct().Count());

        var completed = all.Where(b => b.Status?.Phase == RunPhase.Completed).OrderBy(b => b.Status!.CompletionTime).Last();
        Assert.Equal(1, completed.Status!.Attempts);
        Assert.NotNull(completed.Status.StartTime);
        var job = Assert.Single(await s.JobsAsync("resilience.dev/backup", completed.Metadata.Name));
        Assert.Equal(completed.Metadata.Uid, job.Metadata.OwnerReferences.Single().Uid);
        var env = job.Spec.Template.Spec.Containers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal((completed.Metadata.Name, "checkout", "default", "primary"), (env["BACKUP_NAME"], env["POLICY_NAME"], env["LOCATION"], env["TARGET"]));

        // A deleted backup took its Job with it.
        var deleted = seen.Except(all.Select(b => b.Metadata.Name)).First();
        await BackupScenario.WaitAsync(async () => (await s.JobsAsync("resilience.dev/backup", deleted)).Count == 0, 10, $"Job of deleted backup {deleted} garbage-collected");

        await s.WaitForConditionAsync("BackupsHealthy", "True", "BackupsSucceeding");
        var status = (await s.GetPolicyAsync()).Status!;
        Assert.NotNull(status.Backup!.LastCompleted);
        Assert.True(status.Backup.NextScheduleTime > status.Backup.LastScheduleTime);
        Assert.Equal("True", status.Conditions!.Single(c => c.Type == "Ready").Status); // failover untouched
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task FailedBackupJob_ReportedAndNextSlotStillRuns()
    {
        var (s, op) = await StartAsync("bk-fail", spec => BackupScenario.WithBackups(spec, "*/3 * * * * *", exitCode: 1));
        await using var _ = op;
        await BackupScenario.WaitAsync(async () => (await s.BackupsAsync()).Any(b => b.Status?.Phase == RunPhase.Failed), 20, "a failed backup");
        var failed = (await s.BackupsAsync()).First(b => b.Status?.Phase == RunPhase.Failed);
        Assert.Equal(2, failed.Status!.Attempts); // retried once after a backoff
        Assert.Equal(2, (await s.JobsAsync("resilience.dev/backup", failed.Metadata.Name)).Count);
        Assert.Contains("no more attempts", failed.Status.Message, StringComparison.Ordinal);
        Assert.Equal("False", failed.Status.Conditions!.Single(c => c.Type == "Succeeded").Status);
        await s.WaitForConditionAsync("BackupsHealthy", "False", "BackupFailed");
        Assert.Contains(await s.EventsAsync("ResilienceBackup"), e => e.Reason == "BackupFailed" && e.Type == "Warning");
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "BackupFailed" && e.Type == "Warning"), e => e.Reason == "BackupFailed" && e.Type == "Warning");

        // The backup command is fixed: the next slot runs and succeeds.
        await s.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"spec":{"backup":{"template":{"metadata":{"annotations":{"sim.resilience.dev/exit-code":"0"}}}}}}""", V1Patch.PatchType.MergePatch),
            GroupVersion.Group, GroupVersion.Version, s.Namespace, ResiliencePolicy.KubePluralName, "checkout");
        await BackupScenario.WaitAsync(async () => (await s.BackupsAsync()).Any(b => b.Status?.Phase == RunPhase.Completed), 15, "a completed backup after the fix");
        await s.WaitForConditionAsync("BackupsHealthy", "True", "BackupsSucceeding");
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Restart_MidBackup_NoSecondBackupForTheSlotNorSecondJob()
    {
        var (s, op) = await StartAsync("bk-restart", spec => BackupScenario.WithBackups(spec, "*/10 * * * * *", duration: "5s"));
        await BackupScenario.WaitAsync(async () => (await s.BackupsAsync()).Any(b => b.Status?.Phase == RunPhase.Running), 20, "a backup running");
        var running = (await s.BackupsAsync()).First(b => b.Status?.Phase == RunPhase.Running);
        await op.DisposeAsync();
        await Task.Delay(500);
        await using var second = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await BackupScenario.WaitAsync(async () => (await s.BackupsAsync()).Single(b => b.Metadata.Name == running.Metadata.Name).Status?.Phase == RunPhase.Completed,
            15, $"{running.Metadata.Name} completed");
        var backups = await s.BackupsAsync();
        Assert.Single(backups, b => b.Spec.ScheduledTime == running.Spec.ScheduledTime);
        Assert.Equal(backups.Count, backups.Select(b => b.Spec.ScheduledTime).Distinct().Count());
        Assert.Single(await s.JobsAsync("resilience.dev/backup", running.Metadata.Name));
        Assert.Equal(1, backups.Single(b => b.Metadata.Name == running.Metadata.Name).Status!.Attempts);
    }
}
