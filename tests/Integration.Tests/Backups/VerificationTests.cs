using System.Globalization;
using k8s;
using k8s.Autorest;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Backups;

/// <summary>
/// Restore tests (spec.backup.verify): the backup restored into a scratch copy of its target that no
/// Service selects, judged by the verify Job, the scratch copy removed; a good and a bad backup;
/// retention keeps the newest verified backup; a restart resumes the same test.
/// </summary>
[Collection("cluster")]
public sealed class VerificationTests(ClusterFixture cluster)
{
    /// <summary>A 6-field cron firing once, a few seconds from now (once a day after that).</summary>
    private static string OnceSoon(double seconds)
    {
        var t = DateTime.UtcNow.AddSeconds(seconds);
        return string.Create(CultureInfo.InvariantCulture, $"{t.Second} {t.Minute} {t.Hour} * * *");
    }

    private static async Task<(Scenario, OperatorRunner)> StartAsync(ClusterFixture cluster, string prefix, string restoreDuration, int verifyExit,
        int? keepLast = null)
    {
        var s = await Scenario.CreateAsync(cluster, prefix);
        await s.WaitForReadyAsync("primary", 2);
        var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec =>
        {
            BackupScenario.WithBackups(spec, "* * * * * *", duration: "200ms", keepLast: keepLast);
            spec.Backup!.Verify = new BackupVerifySpec { Schedule = OnceSoon(7), Template = BackupScenario.Template("300ms", verifyExit) };
            spec.Restore = new RestoreSpec { Template = BackupScenario.Template(restoreDuration) };
            spec.Objectives = new ObjectivesSpec { Rpo = "1m", RpoFrom = RpoFrom.Verified };
        }));
        return (s, op);
    }

    /// <summary>
    /// The pods a Service's EndpointSlices list, ready or not. The local API server (1.20) serves
    /// them as discovery.k8s.io/v1beta1, which the client has no model for. (Endpoints objects may
    /// not hold the simulated pods' loopback IPs, so the local control plane keeps none.)
    /// </summary>
    private static async Task<List<string>> EndpointPodsAsync(IKubernetes client, string ns, string service)
    {
        var list = (System.Text.Json.JsonElement)await client.CustomObjects.ListNamespacedCustomObjectAsync("discovery.k8s.io", "v1beta1", ns,
            "endpointslices", labelSelector: "kubernetes.io/service-name=" + service);
        var pods = new List<string>();
        foreach (var slice in list.GetProperty("items").EnumerateArray())
            if (slice.TryGetProperty("endpoints", out var endpoints) && endpoints.ValueKind == System.Text.Json.JsonValueKind.Array)
                foreach (var e in endpoints.EnumerateArray())
                    if (e.TryGetProperty("targetRef", out var target) && target.TryGetProperty("name", out var name)) pods.Add(name.GetString() ?? "");
        return pods;
    }

    private static async Task<ResilienceBackup> WaitForVerificationAsync(Scenario s, Func<BackupVerificationStatus, bool> done, double seconds,
        string what, Func<Task>? meanwhile = null)
    {
        ResilienceBackup? found = null;
        await BackupScenario.WaitAsync(async () =>
        {
            if (meanwhile is not null) await meanwhile();
            found = (await s.BackupsAsync()).FirstOrDefault(b => b.Status?.Verification is { } v && done(v));
            return found is not null;
        }, seconds, what);
        return found!;
    }

    private static async Task<bool> GoneAsync(Scenario s, string deployment)
    {
        try { await s.DeploymentAsync(deployment); return false; }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound) { return true; }
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task GoodBackup_RestoredIntoAScratchCopyNoServiceSelects_Verified_ScratchGone_RetentionKeepsIt()
    {
        var (s, op) = await StartAsync(cluster, "vf-good", restoreDuration: "2s", verifyExit: 0, keepLast: 1);
        await using var _ = op;
        var scratchPods = new HashSet<string>();
        var served = new List<string>();
        var servesAny = false; // the check sees the Service's endpoints at all
        V1Deployment? scratchCopy = null;
        // While the test runs: the scratch copy and its pods exist, and the Service's endpoints never list one.
        async Task WatchServiceAsync()
        {
            scratchCopy ??= (await s.Client.AppsV1.ListNamespacedDeploymentAsync(s.Namespace, labelSelector: "resilience.dev/scratch")).Items.FirstOrDefault();
            foreach (var p in (await s.Client.CoreV1.ListNamespacedPodAsync(s.Namespace, labelSelector: "resilience.dev/scratch")).Items)
                scratchPods.Add(p.Metadata.Name);
            var listed = await EndpointPodsAsync(s.Client, s.Namespace, "checkout");
            servesAny |= listed.Count > 0;
            served.AddRange(listed.Where(scratchPods.Contains));
        }
        var backup = await WaitForVerificationAsync(s, v => v.Phase == VerificationPhase.Passed, 45, "a backup verified", WatchServiceAsync);
        var v = backup.Status!.Verification!;
        Assert.NotEmpty(scratchPods);
        Assert.True(servesAny, "the Service's EndpointSlices never listed a pod");
        Assert.Empty(served);
        // The copy has the target's whole pod template, read from the API server: the cache keeps no image or probe path of it.
        Assert.NotNull(scratchCopy);
        var app = Assert.Single(scratchCopy!.Spec.Template.Spec.Containers);
        Assert.Equal(("sim/app:1", "/healthz"), (app.Image, app.ReadinessProbe.HttpGet.Path));
        Assert.Equal(1, scratchCopy.Spec.Template.Spec.TerminationGracePeriodSeconds);
        Assert.Equal(("schedule", true), (v.RequestedBy, v.ScratchRemoved));
        Assert.Equal("True", backup.Status.Conditions!.Single(c => c.Type == "Verified").Status);
        Assert.NotNull(v.Time);

        // The restore Job wrote into the scratch copy; the verify Job judged it, with the backup and the copy in its environment.
        var jobs = await s.JobsAsync("resilience.dev/backup", backup.Metadata.Name);
        var restoreEnv = jobs.Single(j => j.Metadata.Name == v.RestoreJob).Spec.Template.Spec.Containers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        var verifyEnv = jobs.Single(j => j.Metadata.Name == v.VerifyJob).Spec.Template.Spec.Containers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal((backup.Metadata.Name, v.Scratch), (restoreEnv["BACKUP_NAME"], restoreEnv["TARGET"]));
        Assert.Equal((backup.Metadata.Name, v.Scratch, "checkout"), (verifyEnv["BACKUP_NAME"], verifyEnv["TARGET"], verifyEnv["POLICY_NAME"]));
        Assert.NotEqual("primary", v.Scratch);
        await BackupScenario.WaitAsync(() => GoneAsync(s, v.Scratch!), 15, "the scratch copy removed");

        // The policy: BackupsVerified, lastVerified, the RPO from the verified backup; the scratch copy never a target.
        await s.WaitForConditionAsync("BackupsVerified", "True", "BackupsVerified");
        var policy = await s.GetPolicyAsync();
        Assert.Equal(backup.Metadata.Name, policy.Status!.Backup!.LastVerified);
        Assert.Equal(["primary", "standby"], policy.Status.Targets!.Select(t => t.Name).Order());
        Assert.Equal((policy.Status.Objectives!.MeasuredAt!.Value - policy.Status.Backup.LastVerifiedTime!.Value).TotalSeconds,
            policy.Status.Objectives.RpoSeconds!.Value, 1);
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "BackupVerified", "ResilienceBackup"), e => e.InvolvedObject.Name == backup.Metadata.Name);

        // keepLast 1: newer backups complete and retention deletes the older ones, never the newest verified.
        await BackupScenario.WaitAsync(async () =>
        {
            var all = await s.BackupsAsync();
            Assert.Contains(all, b => b.Metadata.Name == backup.Metadata.Name);
            return all.Count(b => b.Status?.Phase == RunPhase.Completed && b.Status.CompletionTime > backup.Status.CompletionTime) >= 2;
        }, 20, "newer completed backups");
        await BackupScenario.WaitAsync(async () => (await s.BackupsAsync()).Count(b => b.Status?.Phase == RunPhase.Completed) <= 3, 10,
            "retention at work");
        Assert.Contains(await s.BackupsAsync(), b => b.Metadata.Name == backup.Metadata.Name);
    }

    /// <summary>
    /// A StatefulSet target with a volumeClaimTemplate (data). The local control plane binds no volumes, so the
    /// scheduler would keep its pods Pending; they are placed on a simulated node by spec.nodeName, which runs
    /// them without mounting anything. The claims themselves are real: made by the StatefulSet controller.
    /// </summary>
    private static async Task<V1StatefulSet> StatefulSetWithClaimsAsync(Scenario s, string name)
    {
        var node = (await s.Client.CoreV1.ListNodeAsync()).Items.Select(n => n.Metadata.Name).Order(StringComparer.Ordinal).First();
        var set = StatefulScenario.StatefulSet(name, s.Namespace, 2);
        set.Spec.Template.Spec.NodeName = node;
        set.Spec.VolumeClaimTemplates =
        [
            new V1PersistentVolumeClaim
            {
                Metadata = new V1ObjectMeta { Name = "data" },
                Spec = new V1PersistentVolumeClaimSpec
                {
                    AccessModes = ["ReadWriteOnce"],
                    Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
                },
            },
        ];
        return await s.Client.AppsV1.CreateNamespacedStatefulSetAsync(set, s.Namespace);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task StatefulSetTarget_RestoredIntoAScratchStatefulSet_Verified_ScratchSetAndItsClaimsGone()
    {
        var ns = await cluster.CreateNamespaceAsync("vf-sts");
        var s = new Scenario(cluster, ns);
        foreach (var name in new[] { "primary", "standby" }) await StatefulSetWithClaimsAsync(s, name);
        await s.Client.CoreV1.CreateNamespacedServiceAsync(
            ClusterFixture.Service("checkout", ns, new Dictionary<string, string> { ["app"] = "checkout" }), ns);
        foreach (var name in new[] { "primary", "standby" }) await StatefulScenario.WaitForReadyAsync(s, name, 2);
        // With the operator's own ClusterRole (config/rbac/role.yaml, nothing removed): it may make and delete the scratch set and its claims.
        await using var rbac = await LimitedCredentials.CreateAsync(cluster, ns, resource: "-", verb: "-");
        await using var op = await OperatorRunner.StartAsync(rbac.Kubeconfig, ns);
        await s.ApplyPolicyAsync(Scenario.Policy(ns, spec =>
        {
            foreach (var t in spec.Targets) t.Kind = WorkloadKind.StatefulSet;
            BackupScenario.WithBackups(spec, "* * * * * *", duration: "200ms");
            spec.Backup!.Verify = new BackupVerifySpec { Schedule = OnceSoon(7), Template = BackupScenario.Template("300ms") };
            spec.Restore = new RestoreSpec { Template = BackupScenario.Template("2s") };
        }));

        V1StatefulSet? scratchSet = null;
        var scratchPods = new HashSet<string>();
        var scratchClaims = new HashSet<string>();
        var served = new List<string>();
        var servesAny = false; // the check sees the Service's endpoints at all
        // While the test runs: the scratch StatefulSet, its pods and its claims exist, and the Service's endpoints never list a scratch pod.
        async Task WatchAsync()
        {
            var sets = await s.Client.AppsV1.ListNamespacedStatefulSetAsync(ns, labelSelector: "resilience.dev/scratch");
            scratchSet ??= sets.Items.FirstOrDefault();
            foreach (var p in (await s.Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "resilience.dev/scratch")).Items)
                scratchPods.Add(p.Metadata.Name);
            foreach (var c in (await s.Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(ns, labelSelector: "resilience.dev/scratch")).Items)
                scratchClaims.Add(c.Metadata.Name);
            var listed = await EndpointPodsAsync(s.Client, ns, "checkout");
            servesAny |= listed.Count > 0;
            served.AddRange(listed.Where(scratchPods.Contains));
        }
        var backup = await WaitForVerificationAsync(s, v => v.Phase == VerificationPhase.Passed, 60, "a backup of a StatefulSet target verified", WatchAsync);
        var v = backup.Status!.Verification!;
        Assert.Equal("primary", backup.Status.Source!.Target);
        Assert.Equal(("schedule", true), (v.RequestedBy, v.ScratchRemoved));
        Assert.Equal("True", backup.Status.Conditions!.Single(c => c.Type == "Verified").Status);
        Assert.Contains("verify Job", v.Message, StringComparison.Ordinal);

        // The scratch copy was a StatefulSet of its own, with the target's claim template, its pods and claims labelled as scratch only.
        Assert.NotNull(scratchSet);
        Assert.Equal((v.Scratch, "primary"), (scratchSet!.Metadata.Name, scratchSet.Metadata.Annotations["resilience.dev/scratch-of"]));
        Assert.Equal(("ResilienceBackup", backup.Metadata.Name), (scratchSet.Metadata.OwnerReferences.Single().Kind, scratchSet.Metadata.OwnerReferences[0].Name));
        Assert.Equal("data", Assert.Single(scratchSet.Spec.VolumeClaimTemplates).Metadata.Name);
        // The target read whole from the API server (the cache keeps none of these): its image, probe, node, serviceName.
        var target = await s.Client.AppsV1.ReadNamespacedStatefulSetAsync("primary", ns);
        var app = Assert.Single(scratchSet.Spec.Template.Spec.Containers);
        Assert.Equal(("sim/app:1", "/healthz"), (app.Image, app.ReadinessProbe.HttpGet.Path));
        Assert.Equal(target.Spec.Template.Spec.NodeName, scratchSet.Spec.Template.Spec.NodeName);
        Assert.Equal(("primary", "Parallel"), (scratchSet.Spec.ServiceName, scratchSet.Spec.PodManagementPolicy));
        Assert.DoesNotContain("app", scratchSet.Spec.Template.Metadata.Labels.Keys);
        Assert.Contains($"{v.Scratch}-0", scratchPods);
        Assert.Contains($"data-{v.Scratch}-0", scratchClaims);
        Assert.True(servesAny, "the Service's EndpointSlices never listed a pod");
        Assert.Empty(served);
        var jobs = await s.JobsAsync("resilience.dev/backup", backup.Metadata.Name);
        var restoreEnv = jobs.Single(j => j.Metadata.Name == v.RestoreJob).Spec.Template.Spec.Containers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal((backup.Metadata.Name, v.Scratch), (restoreEnv["BACKUP_NAME"], restoreEnv["TARGET"]));
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "BackupVerified", "ResilienceBackup"), e => e.InvolvedObject.Name == backup.Metadata.Name);

        // Afterwards: neither the scratch StatefulSet nor its claims remain; the targets' own claims are untouched.
        await BackupScenario.WaitAsync(async () =>
        {
            var sets = await s.Client.AppsV1.ListNamespacedStatefulSetAsync(ns, labelSelector: "resilience.dev/scratch");
            var claims = await s.Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(ns, labelSelector: "resilience.dev/scratch");
            return sets.Items.Count == 0 && claims.Items.Count == 0;
        }, 20, "the scratch StatefulSet and its PersistentVolumeClaims removed");
        var left = (await s.Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(ns)).Items;
        Assert.DoesNotContain(left, c => c.Metadata.Name.Contains(v.Scratch!, StringComparison.Ordinal));
        Assert.Equal(["data-primary-0", "data-primary-1", "data-standby-0", "data-standby-1"],
            left.Where(c => c.Metadata.DeletionTimestamp is null).Select(c => c.Metadata.Name).Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task BadBackup_VerifyJobFails_VerifiedFalse_AndARestartMidTestResumesTheSameTest()
    {
        var (s, op) = await StartAsync(cluster, "vf-bad", restoreDuration: "4s", verifyExit: 1);
        var restoring = await WaitForVerificationAsync(s, v => v.Phase == VerificationPhase.Restoring, 30, "a restore test restoring");
        var name = restoring.Metadata.Name;
        var scratch = restoring.Status!.Verification!.Scratch!;
        await BackupScenario.WaitAsync(async () => !await GoneAsync(s, scratch), 10, "the scratch copy");
        var scratchUid = (await s.DeploymentAsync(scratch)).Metadata.Uid;
        await op.DisposeAsync();
        await using var second = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);

        var backup = await WaitForVerificationAsync(s, v => v.Phase == VerificationPhase.Failed, 30, "the restore test failed");
        Assert.Equal(name, backup.Metadata.Name);
        var v = backup.Status!.Verification!;
        Assert.Contains("verify Job", v.Message, StringComparison.Ordinal);
        var verified = backup.Status.Conditions!.Single(c => c.Type == "Verified");
        Assert.Equal(("False", "BackupVerificationFailed"), (verified.Status, verified.Reason));
        // Resumed, not repeated: one restore Job, one verify Job, one scratch copy (the same one), gone afterwards.
        var jobs = await s.JobsAsync("resilience.dev/backup", name);
        Assert.Single(jobs, j => j.Metadata.Name == v.RestoreJob);
        Assert.Single(jobs, j => j.Metadata.Name == v.VerifyJob);
        Assert.Equal(scratch, v.Scratch);
        await BackupScenario.WaitAsync(() => GoneAsync(s, scratch), 15, "the scratch copy removed");
        Assert.Contains(await s.EventsOnceAsync(e => e.Reason == "BackupVerificationFailed", "ResilienceBackup"), e => e.InvolvedObject.Name == name);
        Assert.DoesNotContain(await s.EventsAsync("Deployment"), e => e.InvolvedObject.Name == scratch && e.InvolvedObject.Uid != scratchUid);

        await s.WaitForConditionAsync("BackupsVerified", "False", "BackupVerificationFailed");
        var policy = await s.GetPolicyAsync();
        Assert.Null(policy.Status!.Backup!.LastVerified);
        // rpoFrom Verified: no backup has passed a restore test, so the RPO is not counted from the completed ones.
        Assert.Null(policy.Status.Objectives?.RpoSeconds);
    }

    [Fact(Timeout = TestDeadline.Default)]
    public async Task VerifyBackupDrill_RunsOneRestoreTestOnDemand_PassedWithTheBackupsResult()
    {
        var s = await Scenario.CreateAsync(cluster, "vf-drill");
        await s.WaitForReadyAsync("primary", 2);
        await using var op = await OperatorRunner.StartAsync(cluster.KubeconfigPath, s.Namespace);
        await s.ApplyPolicyAsync(Scenario.Policy(s.Namespace, spec =>
        {
            BackupScenario.WithBackups(spec, "*/2 * * * * *", duration: "200ms");
            // Scheduled once a year: only the drill tests a backup here.
            spec.Backup!.Verify = new BackupVerifySpec { Schedule = "0 0 1 1 *", Template = BackupScenario.Template("300ms") };
            spec.Restore = new RestoreSpec { Template = BackupScenario.Template("300ms") };
        }));
        await s.WaitForConditionAsync("Ready", "True", timeout: TimeSpan.FromSeconds(20));
        await BackupScenario.WaitAsync(async () => (await s.BackupsAsync()).Any(b => b.Status?.Phase == RunPhase.Completed), 20, "a completed backup");
        await s.CreateAsync(new ResilienceDrill
        {
            Metadata = new() { Name = "verify-now" },
            Spec = new ResilienceDrillSpec { Policy = "checkout", Action = DrillAction.VerifyBackup },
        }, ResilienceDrill.KubePluralName);
        ResilienceDrill? drill = null;
        await BackupScenario.WaitAsync(async () =>
        {
            var body = await s.Client.CustomObjects.GetNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, s.Namespace,
                ResilienceDrill.KubePluralName, "verify-now");
            drill = KubernetesJson.Deserialize<ResilienceDrill>((System.Text.Json.JsonElement)body);
            return drill.Status?.Phase is DrillPhase.Passed or DrillPhase.Failed or DrillPhase.Aborted;
        }, 30, "the drill ended");
        Assert.True(drill!.Status!.Phase == DrillPhase.Passed, $"{drill.Status.Phase}: {drill.Status.Message}");
        var backup = (await s.BackupsAsync()).Single(b => b.Metadata.Name == drill.Status.Backup);
        Assert.Equal((VerificationPhase.Passed, "drill/verify-now"), (backup.Status!.Verification!.Phase!.Value, backup.Status.Verification.RequestedBy));
        // One test: no other backup was tested.
        Assert.Single(await s.BackupsAsync(), b => b.Status?.Verification is not null);
    }
}
