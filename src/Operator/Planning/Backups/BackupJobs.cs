using k8s;
using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>Builds the Job of one attempt from the policy's pod template.</summary>
internal static class BackupJobs
{
    public const string BackupNameEnv = "BACKUP_NAME";
    public const string PolicyNameEnv = "POLICY_NAME";
    public const string LocationEnv = "LOCATION";
    public const string TargetEnv = "TARGET";

    /// <summary>
    /// The Job for attempt <paramref name="attempt"/> of <paramref name="owner"/> (a backup or a
    /// restore): owned by it, labelled with the policy, the owner and the attempt, backoffLimit 0
    /// (the operator retries with its own backoff), the environment set in every container.
    /// </summary>
    public static V1Job Build(IKubernetesObject<V1ObjectMeta> owner, string ownerLabel, string policy, V1PodTemplateSpec template, int attempt,
        string backupName, string location, string target, string? name = null)
    {
        // A deep copy: the template belongs to the cached policy, which nobody may change.
        var pod = KubernetesJson.Deserialize<V1PodTemplateSpec>(KubernetesJson.Serialize(template));
        pod.Metadata ??= new V1ObjectMeta();
        pod.Metadata.Labels ??= new Dictionary<string, string>();
        pod.Metadata.Labels[Labels.Policy] = policy;
        pod.Metadata.Labels[ownerLabel] = owner.Metadata.Name;
        pod.Spec.RestartPolicy = pod.Spec.RestartPolicy is "OnFailure" ? "OnFailure" : "Never";
        var env = new Dictionary<string, string>
        {
            [BackupNameEnv] = backupName, [PolicyNameEnv] = policy, [LocationEnv] = location, [TargetEnv] = target,
        };
        foreach (var c in pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []))
        {
            var list = (c.Env ?? []).Where(e => !env.ContainsKey(e.Name)).ToList();
            list.AddRange(env.Select(kv => new V1EnvVar { Name = kv.Key, Value = kv.Value }));
            c.Env = list;
        }
        name ??= BackupNames.Job(owner.Metadata.Name, attempt);
        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = owner.Metadata.NamespaceProperty,
                Labels = new Dictionary<string, string>
                {
                    [Labels.Policy] = policy,
                    [ownerLabel] = owner.Metadata.Name,
                    [Labels.Attempt] = attempt.ToString(System.Globalization.CultureInfo.InvariantCulture),
                },
                OwnerReferences = [OwnerReferences.ControlledBy(owner)],
            },
            Spec = new V1JobSpec { BackoffLimit = 0, Template = pod },
        };
    }
}
