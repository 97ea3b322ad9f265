using System.Text.Json;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.IntegrationTests.Operator;

namespace ResilienceOperator.IntegrationTests.Backups;

/// <summary>Reads and writes the backup and restore objects of one test namespace.</summary>
internal static class BackupScenario
{
    /// <summary>A Job pod template the simulator runs for <paramref name="duration"/> and ends with <paramref name="exitCode"/>.</summary>
    public static V1PodTemplateSpec Template(string duration = "300ms", int exitCode = 0) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Annotations = new Dictionary<string, string>
            {
                ["sim.resilience.dev/duration"] = duration,
                ["sim.resilience.dev/exit-code"] = exitCode.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "run", Image = "busybox", Command = ["sh", "-c", "echo $BACKUP_NAME"] }] },
    };

    public static void WithBackups(ResiliencePolicySpec spec, string schedule, string duration = "300ms", int exitCode = 0, int? keepLast = null)
    {
        spec.Backup = new BackupSpec
        {
            Schedule = schedule, Template = Template(duration, exitCode),
            Retention = keepLast is null ? null : new RetentionSpec { KeepLast = keepLast },
        };
    }

    public static async Task<List<ResilienceBackup>> BackupsAsync(this Scenario s)
    {
        var body = await s.Client.CustomObjects.ListNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, s.Namespace, ResilienceBackup.KubePluralName);
        return [.. KubernetesJson.Deserialize<ResilienceBackupList>((JsonElement)body).Items.Where(b => b.Metadata.DeletionTimestamp is null)];
    }

    public static async Task<List<ResilienceRestore>> RestoresAsync(this Scenario s)
    {
        var body = await s.Client.CustomObjects.ListNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, s.Namespace, ResilienceRestore.KubePluralName);
        return [.. KubernetesJson.Deserialize<ResilienceRestoreList>((JsonElement)body).Items];
    }

    public static async Task<ResilienceRestore> RestoreAsync(this Scenario s, string name)
    {
        var body = await s.Client.CustomObjects.GetNamespacedCustomObjectAsync(GroupVersion.Group, GroupVersion.Version, s.Namespace, ResilienceRestore.KubePluralName, name);
        return KubernetesJson.Deserialize<ResilienceRestore>((JsonElement)body);
    }

    public static async Task<List<V1Job>> JobsAsync(this Scenario s, string ownerLabel, string owner) =>
        [.. (await s.Client.BatchV1.ListNamespacedJobAsync(s.Namespace, labelSelector: $"{ownerLabel}={owner}")).Items.Where(j => j.Metadata.DeletionTimestamp is null)];

    public static async Task CreateAsync<T>(this Scenario s, T obj, string plural) where T : IKubernetesObject<V1ObjectMeta>
    {
        obj.Metadata.NamespaceProperty = s.Namespace;
        await s.Client.CustomObjects.CreateNamespacedCustomObjectAsync(obj, GroupVersion.Group, GroupVersion.Version, s.Namespace, plural);
    }

    public static async Task<IList<Corev1Event>> EventsAsync(this Scenario s, string kind) =>
        (await s.Client.CoreV1.ListNamespacedEventAsync(s.Namespace, fieldSelector: "involvedObject.kind=" + kind)).Items;

    public static Task WaitAsync(Func<Task<bool>> condition, double seconds, string what) =>
        ClusterFixture.WaitUntilAsync(condition, TimeSpan.FromSeconds(seconds), what);
}
