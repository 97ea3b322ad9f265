using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>The caches the backup and restore reconcilers read.</summary>
internal sealed record RunCaches(
    Store<ResiliencePolicy> Policies,
    Store<ResilienceBackup> Backups,
    Store<ResilienceRestore> Restores,
    Store<V1Job> Jobs)
{
    /// <summary>Deployments: the targets a restore test copies, and the scratch copies.</summary>
    public Store<V1Deployment>? Deployments { get; init; }

    /// <summary>Backups and restores by namespace/spec.policy.</summary>
    public const string ByPolicyIndex = "by-policy";
    /// <summary>Jobs by the uid of their owner (backup or restore).</summary>
    public const string OwnerIndex = "owner";

    public static RunCaches Of(OperatorInformers informers) =>
        new(informers.Policies.Store, informers.Backups.Store, informers.Restores.Store, informers.Jobs.Store)
        {
            Deployments = informers.Deployments.Store,
        };

    /// <summary>The <see cref="ByPolicyIndex"/> value of a backup.</summary>
    public static string[] PolicyOf(ResilienceBackup b) => [b.Metadata.NamespaceProperty + "/" + b.Spec.Policy];

    /// <summary>The <see cref="ByPolicyIndex"/> value of a restore.</summary>
    public static string[] PolicyOf(ResilienceRestore r) => [r.Metadata.NamespaceProperty + "/" + r.Spec.Policy];

    /// <summary>The <see cref="OwnerIndex"/> values of a Job.</summary>
    public static IEnumerable<string> OwnersOf(V1Job j) => (j.Metadata.OwnerReferences ?? []).Select(o => o.Uid);

    /// <summary>The backup or restore (by <paramref name="label"/>) a Job runs an attempt of.</summary>
    public static IEnumerable<ObjectKey> RunOf(V1Job j, string label) =>
        j.Metadata.Labels?.TryGetValue(label, out var run) == true ? [new ObjectKey(j.Metadata.NamespaceProperty, run)] : [];
}
