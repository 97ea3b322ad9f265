using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Backups;

/// <summary>Restore on failure, failback only after it, measured RPO/RTO, failed restores and restarts.</summary>
[Collection("cluster")]
public sealed class RestoreTests(ClusterFixture cluster)
{
    private async Task<(Scenario, OperatorRunner)> StartAsync(string prefix, string restoreDuration, int restoreExitCode = 0)
    {
        var s = await Scenario.CreateAsync(cluster, prefix);
        await s.WaitForReadyAsync("primary", 2);
        var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec =>
        {
            BackupScenario.WithBackups(spec, "*/2 * * * * *", keepLast: 3);
            spec.Restore = new RestoreSpec { Template = BackupScenario.Template(restoreDuration, restoreExitCode) };
            spec.HealthCheck!.OnFail = FailAction.FailoverAndRestore;
            spec.Failover!.FailbackDelay = "1s";
            spec.Objectives = new ObjectivesSpec { Rto = "30s", Rpo = "1m" };
        }));
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
        // Two completed at least 2 s apart: the older surely completed before a passing check (checks
        // every 1 s), and a backup completed after the last passing check before a failure is never
        // restored for it. (Two Jobs started late can complete in the same second.)
        await BackupScenario.WaitAsync(async () =>
        {
            var done = (await s.BackupsAsync()).Where(b => b.Status?.Phase == RunPhase.Completed).Select(b => b.Status!.CompletionTime!.Value).ToList();
            return done.Count >= 2 && done.Max() - done.Min() >= TimeSpan.FromSeconds(2);
        }, 20, "two completed backups at least 2 s apart");
        return (s, op);
    }

    private static async Task<ResilienceRestore> WaitForRestoreAsync(Scenario s, Func<ResilienceRestore, bool> condition, double seconds, string what)
    {
        ResilienceRestore? found = null;
        await BackupScenario.WaitAsync(async () =>
        {
            found = (await s.RestoresAsync()).SingleOrDefault(condition);
            return found is not null;
        }, seconds, what);
        return found!;
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task PrimaryFails_RestoreOfNewestCompletedBackup_FailbackOnlyAfterIt_RtoRpoAgreeWithObjects()
    {
        var (s, op) = await StartAsync("rs-flow", restoreDuration: "4s");
        await using var _ = op;
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(10));
        await BackupScenario.WaitAsync(async () => (await s.GetPolicyAsync()).Status?.Failover?.Last?.Reason == "Failover", 5, "the failover recorded");
        var failover = (await s.GetPolicyAsync()).Status!.Failover!.Last!;
        await s.SetFaultAsync("primary", null); // healthy again long before the restore is done

        var restore = await WaitForRestoreAsync(s, _ => true, 10, "the incident's restore");
        Assert.Equal(("primary", "checkout"), (restore.Spec.Target, restore.Spec.Policy));
        Assert.Equal("checkout", restore.Metadata.OwnerReferences.Single().Name);
        var backup = (await s.BackupsAsync()).SingleOrDefault(b => b.Metadata.Name == restore.Spec.Backup);
        Assert.True(backup is null || backup.Status?.Phase == RunPhase.Completed, "restored a backup that had not completed");

        // While the restore runs, the healthy primary gets no traffic.
        await BackupScenario.WaitAsync(async () =>
        {
            // The selector first: if it already points at the primary, the restore read after it must be Completed.
            var selected = await s.SelectedAppAsync();
            var r = await s.RestoreAsync(restore.Metadata.Name);
            if (selected == "primary") Assert.Equal(RunPhase.Completed, r.Status?.Phase);
            return r.Status?.Phase == RunPhase.Completed;
        }, 20, "restore completed");
        restore = await s.RestoreAsync(restore.Metadata.Name);
        Assert.Equal(restore.Spec.Backup, restore.Status!.Backup);
        var job = Assert.Single(await s.JobsAsync("resilience.dev/restore", restore.Metadata.Name));
        Assert.Equal(restore.Spec.Backup, job.Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == "BACKUP_NAME").Value);

        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(10));
        // the status is written right after the Service
        await BackupScenario.WaitAsync(async () => (await s.GetPolicyAsync()).Status?.Failover?.Last?.Reason == "Failback", 5, "the failback recorded");
        var status = (await s.GetPolicyAsync()).Status!;
        // failback after the restore completed (completionTime has whole seconds)
        Assert.True(status.Failover!.Last!.Time >= restore.Status.CompletionTime!.Value.AddSeconds(-1),
            $"failback at {status.Failover.Last.Time:O}, restore completed at {restore.Status.CompletionTime:O}");
        Assert.Single(await s.RestoresAsync()); // one restore for the incident

        // RTO: from the last passing check (the first failed one minus the 1 s interval) to serving
        // again (the failover), as the incident records it; a warm failover's detection plus switch.
        var obj = status.Objectives!;
        var incident = obj.LastIncident!;
        Assert.Equal("primary", incident.Target);
        Assert.Equal(restore.Metadata.Name, incident.Restore);
        Assert.Equal(failover.Time, incident.RecoveredAt!.Value, TimeSpan.FromMilliseconds(1));
        // Each figure is rounded to milliseconds on its own: compared within 10 ms, not by rounding
        // both to two places (2.0455 and 2.045 round apart).
        Assert.Equal((incident.RecoveredAt.Value - incident.FirstFailureTime!.Value).TotalSeconds + 1, obj.LastRtoSeconds!.Value, 0.01);
        Assert.Equal(failover.DetectionSeconds!.Value + failover.SwitchSeconds!.Value, obj.LastRtoSeconds.Value, 0.01);
        Assert.True(incident.DetectedAt <= restore.Metadata.CreationTimestamp!.Value.AddSeconds(1));
        Assert.True(obj.RtoMet);
        // RPO: measuredAt minus the completion of the newest completed backup.
        var newest = (await s.BackupsAsync()).SingleOrDefault(b => b.Metadata.Name == status.Backup!.LastCompleted);
        if (newest is not null) Assert.Equal(newest.Status!.CompletionTime!.Value, status.Backup!.LastCompletedTime!.Value, TimeSpan.FromSeconds(1));
        // Within 10 ms, not by rounding both to one place (2.0503 and 2.0500 round apart).
        Assert.Equal((obj.MeasuredAt!.Value - status.Backup!.LastCompletedTime!.Value).TotalSeconds, obj.RpoSeconds!.Value, 0.01);
        Assert.True(obj.RpoSeconds < 60);
        await s.WaitForConditionAsync("ObjectivesMet", "True");
        Assert.Null(status.Incidents);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task FailedRestore_WarningConditionRetriesAndTrafficStaysOnHealthyStandby()
    {
        var (s, op) = await StartAsync("rs-failed", restoreDuration: "300ms", restoreExitCode: 1);
        await using var _ = op;
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(10));
        await s.SetFaultAsync("primary", null);
        var restore = await WaitForRestoreAsync(s, r => r.Status?.Phase == RunPhase.Failed, 25, "the restore failed after its attempts");
        Assert.Equal(RestoreAttempts, restore.Status!.Attempts);
        Assert.Equal(RestoreAttempts, (await s.JobsAsync("resilience.dev/restore", restore.Metadata.Name)).Count);
        await s.WaitForConditionAsync("BackupsHealthy", "False", "RestoreFailed");
        Assert.Contains(await s.EventsAsync("ResilienceRestore"), e => e.Reason == "RestoreFailed" && e.Type == "Warning");
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "RestoreFailed" && e.Type == "Warning"), e => e.Reason == "RestoreFailed" && e.Type == "Warning");
        await s.WaitForReadyAsync("primary", 2);
        await Task.Delay(TimeSpan.FromSeconds(3)); // longer than failbackDelay
        Assert.Equal("standby", await s.SelectedAppAsync());
        Assert.Equal("True", (await s.ConditionAsync("Ready"))!.Status); // serving from the healthy standby
        Assert.Single(await s.RestoresAsync()); // retried inside the restore, not by a second one
    }

    private const int RestoreAttempts = 3;

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Restart_MidRestore_NoSecondRestoreForTheIncident()
    {
        var (s, op) = await StartAsync("rs-restart", restoreDuration: "5s");
        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(10));
        var restore = await WaitForRestoreAsync(s, r => r.Status?.Phase == RunPhase.Running, 10, "the restore running");
        await op.DisposeAsync();
        await s.SetFaultAsync("primary", null);
        await Task.Delay(500);
        await using var second = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await BackupScenario.WaitAsync(async () => (await s.RestoreAsync(restore.Metadata.Name)).Status?.Phase == RunPhase.Completed, 15, "restore completed");
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(10));
        Assert.Single(await s.RestoresAsync());
        Assert.Single(await s.JobsAsync("resilience.dev/restore", restore.Metadata.Name));
        Assert.Equal(1, (await s.RestoreAsync(restore.Metadata.Name)).Status!.Attempts);
    }
}
