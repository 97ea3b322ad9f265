using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Backups;

/// <summary>
/// An incident restores the last known good backup: backups of the failing primary that completed
/// after its last passing check (before the failure was declared) are suspect and never restored
/// automatically; a restore by hand needs spec.allowSuspect for one.
/// </summary>
[Collection("cluster")]
public sealed class LastKnownGoodTests(ClusterFixture cluster)
{
    [Fact(Timeout = TestDeadline.Default)]
    public async Task BackupsCompletedAfterTheFaultBegan_AreSuspect_IncidentRestoresTheLastOneBeforeTheLastPassingCheck()
    {
        var s = await Scenario.CreateAsync(cluster, "lkg");
        await s.WaitForReadyAsync("primary", 2);
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec =>
        {
            // A backup every second and a slow detection (4 failed checks): backups of the failing
            // primary complete between the fault and its detection.
            BackupScenario.WithBackups(spec, "* * * * * *", duration: "200ms");
            spec.Restore = new RestoreSpec { Template = BackupScenario.Template("300ms") };
            spec.HealthCheck!.OnFail = FailAction.FailoverAndRestore;
            spec.HealthCheck.Retries = 4;
        }));
        await s.WaitForSelectedAsync("primary", TimeSpan.FromSeconds(15));
        await BackupScenario.WaitAsync(async () => (await s.BackupsAsync()).Count(b => b.Status?.Phase == RunPhase.Completed) >= 2, 20,
            "two completed backups");
        // An incident restores only a backup its target passed a check after. The Job controller may report a
        // completion later than the next check: the fault waits until a check that started after this moment
        // passed (the second passing answer of a primary pod from now; checks come one second apart).
        await s.WaitForPassingProbesAsync("primary", 2 * 2, TimeSpan.FromSeconds(10));

        await s.SetFaultAsync("primary", "unready");
        await s.WaitForSelectedAsync("standby", TimeSpan.FromSeconds(20));
        ResilienceRestore? restore = null;
        await BackupScenario.WaitAsync(async () => (restore = (await s.RestoresAsync()).SingleOrDefault()) is not null, 10, "the incident's restore");
        var incident = (await s.GetPolicyAsync()).Status!.Incidents!.Single(i => i.Target == "primary");
        var lastPass = incident.LastPassingCheck!.Value;
        Assert.True(lastPass < incident.FirstFailureTime, $"last passing check {lastPass:O} not before the first failed one {incident.FirstFailureTime:O}");
        Assert.Equal(restore!.Spec.Backup, incident.Backup);
        Assert.Contains("before the last passing check", incident.BackupReason);

        // The chosen backup completed before the last passing check (a Job's completionTime has whole
        // seconds: it completed no later than a second after it, nor after the operator saw it).
        var backups = await s.BackupsAsync();
        var chosen = backups.Single(b => b.Metadata.Name == restore.Spec.Backup);
        var completedBy = new[] { chosen.Status!.CompletionTime!.Value.AddSeconds(1), chosen.Status.Source!.CompletedBy!.Value }.Min();
        Assert.True(completedBy <= lastPass,
            $"restored {chosen.Metadata.Name}, completed {chosen.Status.CompletionTime:O}, after the last passing check {lastPass:O}");
        Assert.Equal("False", chosen.Status.Conditions!.Single(c => c.Type == "Suspect").Status);
        Assert.Equal(("primary", true), (chosen.Status.Source!.Target, chosen.Status.Source.HealthyAtEnd));

        // Backups of the primary completed after the fault began, before it was declared: the newest
        // completed at detection used to be restored; now each is suspect, saying why.
        var late = backups.Where(b => b.Status?.Phase == RunPhase.Completed && b.Status.Source?.Target == "primary"
            && b.Status.CompletionTime > lastPass && b.Status.CompletionTime <= incident.DetectedAt).Select(b => b.Metadata.Name).ToList();
        Assert.NotEmpty(late);
        await BackupScenario.WaitAsync(async () => (await s.BackupsAsync()).Where(b => late.Contains(b.Metadata.Name))
            .All(b => b.Status!.Conditions!.Any(c => c.Type == "Suspect" && c.Status == "True" && c.Reason == "Suspect")), 10, "late backups suspect");
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "Suspect", "ResilienceBackup"), e => late.Contains(e.InvolvedObject.Name));

        await BackupScenario.WaitAsync(async () => (await s.RestoreAsync(restore.Metadata.Name)).Status?.Phase == RunPhase.Completed, 20, "restore completed");
        Assert.StartsWith("chosen for the incident", (await s.RestoreAsync(restore.Metadata.Name)).Status!.BackupReason);

        // By hand: a suspect backup is refused without spec.allowSuspect, naming the field; restored with it.
        await s.CreateAsync(new ResilienceRestore
        {
            Metadata = new() { Name = "by-hand" },
            Spec = new ResilienceRestoreSpec { Policy = "checkout", Target = "primary", Backup = late[0] },
        }, ResilienceRestore.KubePluralName);
        await s.CreateAsync(new ResilienceRestore
        {
            Metadata = new() { Name = "by-hand-allowed" },
            Spec = new ResilienceRestoreSpec { Policy = "checkout", Target = "primary", Backup = late[0], AllowSuspect = true },
        }, ResilienceRestore.KubePluralName);
        await BackupScenario.WaitAsync(async () => (await s.RestoreAsync("by-hand")).Status?.Phase == RunPhase.Failed, 10, "the suspect backup refused");
        var refused = await s.RestoreAsync("by-hand");
        Assert.StartsWith("spec.allowSuspect:", refused.Status!.Message);
        Assert.Null(refused.Status.Attempts);
        await BackupScenario.WaitAsync(async () => (await s.RestoreAsync("by-hand-allowed")).Status?.Phase == RunPhase.Completed, 20,
            "the suspect backup restored with allowSuspect");
        Assert.Equal(late[0], (await s.RestoreAsync("by-hand-allowed")).Status!.Backup);
    }
}
