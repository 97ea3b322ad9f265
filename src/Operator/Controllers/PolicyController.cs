using k8s.Models;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;
using ResilienceOperator.Health;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>
/// The ResiliencePolicy controller: keyed by policy; its targets, Service, autoscalers, PDBs,
/// backups and restores map back to it, and the health prober's verdicts go on its queue.
/// </summary>
internal static class PolicyController
{
    public const string Name = "resiliencepolicy";

    /// <summary>How long a reconcile waits for the cache to show the policy controller's own last write.</summary>
    public static readonly TimeSpan PolicyWriteWait = TimeSpan.FromSeconds(2);

    public static ControllerRegistration Register(ControllerBuilder b, OperatorInformers informers, ClusterWriter writer, IEventRecorder recorder,
        ObserverGuard<ObjectKey> guard, int workers, TimeProvider time, ILoggerFactory loggers)
    {
        var (policies, deployments, pods) = (informers.Policies, informers.Deployments, informers.Pods);
        var prober = new HealthProber(policies.Store, deployments.Store, pods.Store, b.Queue.Add, writer, time,
            loggers.CreateLogger<HealthProber>(), guard: guard, statefulSets: informers.StatefulSets.Store);
        // Every write of the policy controller is guarded by the resourceVersion its decision was made
        // on, so a decision on a cache that has not caught up ends in a 409 and a requeue, never in a
        // wrong write. Waiting for the cache is then only an economy, and it must not hold a failover:
        // a watch that is slow to come back after an API server restart would otherwise delay it.
        var expectations = new CacheExpectations(time, PolicyWriteWait);
        var caches = new PolicyCaches(policies.Store, deployments.Store, informers.Services.Store, informers.Hpas.Store, informers.Pdbs.Store,
            informers.Backups.Store, informers.Restores.Store, informers.ScaledObjectStore, informers.Shard)
        {
            StatefulSets = informers.StatefulSets.Store, Jobs = informers.Jobs.Store,
        };

        IEnumerable<ObjectKey> ByIndex(string index, string? ns, string? name) =>
            policies.Store.ByIndex(index, ns + "/" + name).Select(ObjectKey.Of);
        IEnumerable<ObjectKey> Targeting(V1ObjectMeta m) => ByIndex(PolicyCaches.PolicyTargetIndex, m.NamespaceProperty, m.Name);
        // Objects that name their policy map to it only when it is this shard's: another shard's policy is no key here.
        IEnumerable<ObjectKey> Owned(ObjectKey policy) => informers.Shard.Owns(policy) ? [policy] : [];

        b.Index(policies.Store, PolicyCaches.PolicyTargetIndex, PolicyCaches.TargetsOf)
            .Index(policies.Store, PolicyCaches.PolicyServiceIndex, p => [p.Metadata.NamespaceProperty + "/" + (p.Spec.Service?.Name ?? "")])
            .Index(informers.Hpas.Store, PolicyCaches.HpaTargetIndex,
                h => h.Spec.ScaleTargetRef.Kind is "Deployment" or "StatefulSet"
                    ? [h.Metadata.NamespaceProperty + "/" + h.Spec.ScaleTargetRef.Name] : [])
            .Index(informers.Pdbs.Store, PolicyCaches.OwnerIndex, p => (p.Metadata.OwnerReferences ?? []).Select(o => o.Uid))
            .Index(informers.ScaledObjectStore, PolicyCaches.ScaledObjectTargetIndex,
                s => s.TargetDeployment is { } d ? [s.Metadata.NamespaceProperty + "/" + d] : [])
            .Index(informers.Backups.Store, RunCaches.ByPolicyIndex, RunCaches.PolicyOf)
            .Index(informers.Restores.Store, RunCaches.ByPolicyIndex, RunCaches.PolicyOf)
            .Index(informers.Jobs.Store, RunCaches.OwnerIndex, RunCaches.OwnersOf)
            // Its own status writes do not bring a policy back (they did not before the cache was
            // read-only either); the resync still does.
            .For(policies, Predicates.Or(Predicates.StatusOnlyIgnored<ResiliencePolicy>(), Predicates.Resync<ResiliencePolicy>()))
            // A new or changed spec is checked at once rather than at the next probe period.
            .Watches(policies,
                new EventHandlers<ResiliencePolicy>(
                    Created: p => prober.CheckSoon(ObjectKey.Of(p)), Updated: (_, p) => prober.CheckSoon(ObjectKey.Of(p))),
                Predicates.GenerationChanged<ResiliencePolicy>())
            // Status-only churn of a Deployment (ready counts) reaches policies through the prober's verdicts.
            .Watches(deployments, d => Targeting(d.Metadata), Predicates.Or(Predicates.GenerationChanged<V1Deployment>(), Predicates.Resync<V1Deployment>()))
            .Watches(informers.StatefulSets, d => Targeting(d.Metadata),
                Predicates.Or(Predicates.GenerationChanged<V1StatefulSet>(), Predicates.Resync<V1StatefulSet>()))
            // Failover hook Jobs (fence, promote): their progress moves a stepped failover on.
            .Watches(informers.Jobs,
                j => j.Metadata.Labels?.ContainsKey(Labels.Hook) == true && j.Metadata.Labels.TryGetValue(Labels.Policy, out var owner)
                    ? [new ObjectKey(j.Metadata.NamespaceProperty, owner)] : [])
            .Watches(informers.Services, s => ByIndex(PolicyCaches.PolicyServiceIndex, s.Metadata.NamespaceProperty, s.Metadata.Name))
            .Watches(informers.Hpas, h => ByIndex(PolicyCaches.PolicyTargetIndex, h.Metadata.NamespaceProperty, h.Spec.ScaleTargetRef.Name))
            .Watches(informers.Pdbs,
                p => p.Metadata.Labels?.TryGetValue(Labels.Policy, out var owner) == true
                    ? Owned(new ObjectKey(p.Metadata.NamespaceProperty, owner)) : [],
                Predicates.NotCreated<PodDisruptionBudgetObject>())
            .Watches(informers.Backups, r => Owned(new ObjectKey(r.Metadata.NamespaceProperty, r.Spec.Policy)))
            .Watches(informers.Restores, r => Owned(new ObjectKey(r.Metadata.NamespaceProperty, r.Spec.Policy)));
        if (informers.ScaledObjects is { } scaledObjects)
            b.Watches(scaledObjects, s => s.TargetDeployment is { } d ? ByIndex(PolicyCaches.PolicyTargetIndex, s.Metadata.NamespaceProperty, d) : []);
        return b
            .OnNewTerm(prober.ResetTerm)
            .OnNewTerm(expectations.Clear)
            .WhileLeading(prober.RunAsync)
            .Using(prober)
            .Workers(workers)
            .Complete(new ResiliencePolicyReconciler(caches, prober, writer, recorder, expectations, time, loggers.CreateLogger<ResiliencePolicyReconciler>()),
                loggers.CreateLogger<Controller>());
    }
}
