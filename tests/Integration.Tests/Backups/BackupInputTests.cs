using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Backups;

/// <summary>Bad backup and restore input: a 422 from the schema where it can say so, otherwise a condition naming the field.</summary>
[Collection("cluster")]
public sealed class BackupInputTests(ClusterFixture cluster)
{
    private async Task<(int Code, string Stderr)> ApplyAsync(string manifest)
    {
        var file = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, manifest);
        var (code, _, stderr) = await cluster.RunKubectlAsync("apply", "--validate=false", "-f", file);
        File.Delete(file);
        return (code, stderr);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task Schema_BadBackupFields_RejectedWith422NamingTheField()
    {
        var ns = await cluster.CreateNamespaceAsync("bk-schema");
        var policyCases = new (string Yaml, string Field)[]
        {
            ("backup: {schedule: \"every day\", template: {spec: {containers: [{name: c, image: x}]}}}", "spec.backup.schedule"),
            ("backup: {schedule: \"*/5 * * * *\"}", "spec.backup.template"),
            ("backup: {schedule: \"*/5 * * * *\", template: {}, retention: {maxAge: \"a week\"}}", "spec.backup.retention.maxAge"),
            ("restore: {}", "spec.restore.template"),
            ("healthCheck: {onFail: Rollback}", "spec.healthCheck.onFail"),
        };
        foreach (var (yaml, field) in policyCases)
        {
            var (code, stderr) = await ApplyAsync($$"""
                apiVersion: resilience.dev/v1alpha1
                kind: ResiliencePolicy
                metadata: {name: bad, namespace: {{ns}}}
                spec:
                  targets: [{name: primary}]
                  service: {name: checkout}
                  {{yaml}}
                """);
            Assert.NotEqual(0, code);
            Assert.Contains(field, stderr, StringComparison.Ordinal);
        }
        var (c1, e1) = await ApplyAsync($$"""
            apiVersion: resilience.dev/v1alpha1
            kind: ResilienceBackup
            metadata: {name: bad, namespace: {{ns}}}
            spec: {policy: checkout, location: Off_Site}
            """);
        Assert.NotEqual(0, c1);
        Assert.Contains("spec.location", e1, StringComparison.Ordinal);
        var (c2, e2) = await ApplyAsync($$"""
            apiVersion: resilience.dev/v1alpha1
            kind: ResilienceRestore
            metadata: {name: bad, namespace: {{ns}}}
            spec: {policy: checkout}
            """);
        Assert.NotEqual(0, c2);
        Assert.Contains("spec.target", e2, StringComparison.Ordinal);
    }

    /// <summary>The scenario with a valid policy that backs up every 2 s and can restore, serving from the primary.</summary>
    private async Task<(Scenario, OperatorRunner)> StartAsync(string prefix)
    {
        var s = await Scenario.CreateAsync(cluster, prefix);
        await s.WaitForReadyAsync("primary", 2);
        var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec =>
        {
            BackupScenario.WithBackups(spec, "*/2 * * * * *");
            spec.Restore = new RestoreSpec { Template = BackupScenario.Template() };
        }));
        await s.WaitForConditionAsync("Ready", "True");
        return (s, op);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task BadBackupBlock_EachCase_ConditionNamingFieldAndFailoverUnaffected()
    {
        var (s, op) = await StartAsync("bk-input");
        await using var _ = op;

        var cases = new (string Name, Action<ResiliencePolicySpec> Break, string Field)[]
        {
            ("bad-cron", p => BackupScenario.WithBackups(p, "99 * * * *"), "spec.backup.schedule: \"99 * * * *\" is not a valid cron expression"),
            ("bad-zone", p => { BackupScenario.WithBackups(p, "*/5 * * * *"); p.Backup!.TimeZone = "Mars/Olympus_Mons"; }, "spec.backup.timeZone: unknown time zone \"Mars/Olympus_Mons\""),
            ("no-restore-template", p => p.HealthCheck!.OnFail = FailAction.Restore, "spec.restore.template: required"),
            ("bad-location", p => { BackupScenario.WithBackups(p, "*/5 * * * *"); p.Backup!.Locations = ["Off_Site"]; }, "spec.backup.locations[0]"),
        };
        foreach (var (name, breakIt, field) in cases)
        {
            await s.Client.CoreV1.CreateNamespacedServiceAsync(ClusterFixture.Service(name, s.Namespace, new Dictionary<string, string> { ["app"] = name }), s.Namespace);
            var policy = Scenario.Policy(s.Namespace, breakIt);
            policy.Metadata.Name = name;
            policy.Spec.Service.Name = name;
            await s.ApplyPolicyAsync(policy);
            await s.WaitForConditionAsync("BackupsHealthy", "False", "InvalidSpec", name: name);
            Assert.Contains(field, (await s.ConditionAsync("BackupsHealthy", name))!.Message, StringComparison.Ordinal);
            // failover is not affected by a broken backup block
            await s.WaitForConditionAsync("Ready", "True", name: name);
        }
        Assert.DoesNotContain(await s.BackupsAsync(), b => b.Spec.Policy != "checkout");

        // The valid policy kept its traffic throughout.
        Assert.Equal("primary", await s.SelectedAppAsync());
        Assert.Equal("True", (await s.ConditionAsync("Ready"))!.Status);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task BadBackupOrRestore_EachCase_FailedNamingFieldAndNoJob()
    {
        var (s, op) = await StartAsync("bk-badrun");
        await using var _ = op;

        // Restores that name the wrong backup fail, naming spec.backup; a backup that cannot run fails naming its field.
        await BackupScenario.WaitAsync(async () => (await s.BackupsAsync()).Any(b => b.Status?.Phase == RunPhase.Completed), 15, "a completed backup");
        await s.CreateAsync(new ResilienceBackup { Metadata = new V1ObjectMeta { Name = "wrong-location" }, Spec = new ResilienceBackupSpec { Policy = "checkout", Location = "offsite" } }, ResilienceBackup.KubePluralName);
        // Of a policy that is not there: a restore of the checkout policy must refuse it all the same.
        await s.CreateAsync(new ResilienceBackup { Metadata = new V1ObjectMeta { Name = "of-other" }, Spec = new ResilienceBackupSpec { Policy = "other" } }, ResilienceBackup.KubePluralName);
        await BackupScenario.WaitAsync(async () => (await s.BackupsAsync()).Single(b => b.Metadata.Name == "wrong-location").Status?.Phase == RunPhase.Failed, 10, "backup to an unknown location failed");
        var wrong = (await s.BackupsAsync()).Single(b => b.Metadata.Name == "wrong-location");
        Assert.Contains("spec.location: \"offsite\" is not one of", wrong.Status!.Message, StringComparison.Ordinal);
        Assert.Equal("InvalidSpec", wrong.Status.Conditions!.Single(c => c.Type == "Succeeded").Reason);

        var restoreCases = new (string Name, string? Backup, string Target, string Field)[]
        {
            ("other-policys-backup", "of-other", "primary", "spec.backup: ResilienceBackup \"of-other\" belongs to ResiliencePolicy \"other\", not \"checkout\""),
            ("failed-backup", "wrong-location", "primary", "spec.backup: ResilienceBackup \"wrong-location\" failed; only a Completed backup can be restored"),
            ("missing-backup", "nope", "primary", "spec.backup: ResilienceBackup \"nope\" not found"),
            ("unknown-target", null, "nope", "spec.target: \"nope\" is not a target"),
        };
        foreach (var (name, backup, target, field) in restoreCases)
        {
            await s.CreateAsync(new ResilienceRestore { Metadata = new V1ObjectMeta { Name = name }, Spec = new ResilienceRestoreSpec { Policy = "checkout", Backup = backup, Target = target } },
                ResilienceRestore.KubePluralName);
            await BackupScenario.WaitAsync(async () => (await s.RestoreAsync(name)).Status?.Phase == RunPhase.Failed, 10, $"restore {name} failed");
            var r = await s.RestoreAsync(name);
            Assert.Contains(field, r.Status!.Message, StringComparison.Ordinal);
            Assert.Equal(("False", "InvalidSpec"), (r.Status.Conditions!.Single().Status, r.Status.Conditions!.Single().Reason));
            Assert.Empty(await s.JobsAsync("resilience.dev/restore", name));
        }

        // The valid policy kept its traffic and its backups throughout.
        Assert.Equal("primary", await s.SelectedAppAsync());
        Assert.Equal("True", (await s.ConditionAsync("Ready"))!.Status);
        await s.WaitForConditionAsync("BackupsHealthy", "True"); // a newer completed backup than the failed one
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task RestoreByHand_NoBackupNamed_NewestCompletedRestored()
    {
        var (s, op) = await StartAsync("bk-byhand");
        await using var _ = op;
        await BackupScenario.WaitAsync(async () => (await s.BackupsAsync()).Any(b => b.Status?.Phase == RunPhase.Completed), 15, "a completed backup");
        // A restore by hand of the newest completed backup works the same way as one on failure.
        await s.CreateAsync(new ResilienceRestore { Metadata = new V1ObjectMeta { Name = "by-hand" }, Spec = new ResilienceRestoreSpec { Policy = "checkout", Target = "standby" } },
            ResilienceRestore.KubePluralName);
        await BackupScenario.WaitAsync(async () => (await s.RestoreAsync("by-hand")).Status?.Phase == RunPhase.Completed, 15, "restore by hand completed");
        Assert.NotNull((await s.RestoreAsync("by-hand")).Status!.Backup);
        Assert.Equal("primary", await s.SelectedAppAsync());
    }
}
