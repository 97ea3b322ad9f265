using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Reconcilers;

/// <summary>The caches the backup and restore reconcilers read.</summary>
internal sealed record RunCaches(
    Store<ResiliencePolicy> Policies,
    Store<ResilienceBackup> Backups,
    Store<ResilienceRestore> Restores,
    Store<V1Job> Jobs)
{
    /// <summary>Backups and restores by namespace/spec.policy.</summary>
    public const string ByPolicyIndex = "by-policy";
    /// <summary>Jobs by the uid of their owner (backup or restore).</summary>
    public const string OwnerIndex = "owner";
}
