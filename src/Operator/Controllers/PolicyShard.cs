using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>
/// Which ResiliencePolicies this replica answers for (<c>--shard-selector</c>, docs/sharding.md):
/// those in its policy cache, which the API server fills with the policies the selector matches.
/// The backups, restores and drills of a policy are answered for by the shard that caches the
/// policy. One whose policy exists in no shard is answered for by the shard whose selector matches
/// the run's own labels, after a GET has shown that the policy really is gone (a policy being
/// handed over between shards is in neither cache for a moment, and is not "not found").
/// Unsharded, the cache holds every policy and is the whole answer, as before.
/// </summary>
internal sealed class PolicyShard(LabelSelector selector, Store<ResiliencePolicy> policies,
    Func<string, string, CancellationToken, Task<bool>> policyExists, TimeProvider? time = null)
{
    /// <summary>
    /// How long a GET that found a policy (in another shard) is taken as the answer: the runs of every policy of the
    /// other shards whose labels this shard's selector matches (unlabelled ones, for the default shard) would otherwise
    /// cost one GET each per reconcile. "Not found" is never remembered: it ends in a terminal status.
    /// </summary>
    public static readonly TimeSpan ElsewhereFor = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ObjectKey, DateTimeOffset> _elsewhere = new();

    public LabelSelector Selector => selector;

    /// <summary>True when this replica caches only some policies.</summary>
    public bool IsSharded => !selector.IsEverything;

    /// <summary>Whether the policy is this shard's (it is in the cache).</summary>
    public bool Owns(ObjectKey policy) => policies.Get(policy) is not null;

    /// <summary>
    /// Whether this shard answers for a run (backup, restore, drill) of <paramref name="policyName"/>, and with
    /// which policy: (true, policy) when the policy is this shard's; (true, null) when the policy exists nowhere
    /// and this shard reports it; (false, null) when another shard answers.
    /// </summary>
    public async Task<(bool Mine, ResiliencePolicy? Policy)> OwnerOfRunAsync(IKubernetesObject<V1ObjectMeta> run, string policyName, CancellationToken ct)
    {
        var ns = run.Metadata.NamespaceProperty;
        if (policies.Get(ns, policyName) is { } policy) return (true, policy);
        if (!IsSharded) return (true, null);
        if (!selector.Matches(run.Metadata.Labels)) return (false, null);
        var key = new ObjectKey(ns, policyName);
        var now = _time.GetUtcNow();
        if (_elsewhere.TryGetValue(key, out var seen) && now - seen < ElsewhereFor) return (false, null);
        if (await policyExists(ns, policyName, ct))
        {
            _elsewhere[key] = now;
            return (false, null);
        }
        _elsewhere.TryRemove(key, out _);
        return (true, null);
    }
}
