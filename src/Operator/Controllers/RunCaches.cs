using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>The caches the backup and restore reconcilers read.</summary>
internal sealed record RunCaches(
    Store<ResiliencePolicy> Policies,
    Store<ResilienceBackup> Backups,
    Store<ResilienceRestore> Restores,
    Store<V1Job> Jobs,
    PolicyShard Shard)
{
    /// <summary>Deployments: the targets a restore test copies, and the scratch copies.</summary>
    public Store<V1Deployment>? Deployments { get; init; }

    /// <summary>StatefulSets: the targets of kind StatefulSet a restore test copies, and their scratch copies.</summary>
    public Store<V1StatefulSet>? StatefulSets { get; init; }

    /// <summary>Backups and restores by namespace/spec.policy.</summary>
    public const string ByPolicyIndex = "by-policy";
    /// <summary>Jobs by the uid of their owner (backup or restore).</summary>
    public const string OwnerIndex = "owner";

    public static RunCaches Of(OperatorInformers informers) =>
        new(informers.Policies.Store, informers.Backups.Store, informers.Restores.Store, informers.Jobs.Store, informers.Shard)
        {
            Deployments = informers.Deployments.Store,
            StatefulSets = informers.StatefulSets.Store,
        };

    /// <summary>The <see cref="ByPolicyIndex"/> value of a backup.</summary>
    public static string[] PolicyOf(ResilienceBackup b) => [b.Metadata.NamespaceProperty + "/" + b.Spec.Policy];

    /// <summary>The <see cref="ByPolicyIndex"/> value of a restore.</summary>
    public static string[] PolicyOf(ResilienceRestore r) => [r.Metadata.NamespaceProperty + "/" + r.Spec.Policy];

    /// <summary>The backups or restores of a policy (<see cref="ByPolicyIndex"/>) that have not ended: what a shard gaining the policy takes up.</summary>
    public static IEnumerable<ObjectKey> Unfinished<T>(Store<T> runs, ResiliencePolicy policy, Func<T, RunPhase?> phase)
        where T : class, k8s.IKubernetesObject<V1ObjectMeta> =>
        runs.ByIndex(ByPolicyIndex, policy.Metadata.NamespaceProperty + "/" + policy.Metadata.Name)
            .Where(r => phase(r) is not (RunPhase.Completed or RunPhase.Failed)).Select(ObjectKey.Of);

    /// <summary>The <see cref="OwnerIndex"/> values of a Job.</summary>
    public static IEnumerable<string> OwnersOf(V1Job j) => (j.Metadata.OwnerReferences ?? []).Select(o => o.Uid);

    /// <summary>The backup or restore (by <paramref name="label"/>) a Job runs an attempt of.</summary>
    public static IEnumerable<ObjectKey> RunOf(V1Job j, string label) =>
        j.Metadata.Labels?.TryGetValue(label, out var run) == true ? [new ObjectKey(j.Metadata.NamespaceProperty, run)] : [];
}
