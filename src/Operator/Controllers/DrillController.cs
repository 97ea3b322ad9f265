using k8s.Models;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>
/// The ResilienceDrill controller: keyed by drill. A running drill waits on watch events of what
/// its verdict reads — its policy (status), its target's Deployment and that Deployment's pods —
/// mapped to its key, so it is looked at when they change, not on a timer.
/// </summary>
internal static class DrillController
{
    public const string Name = "resiliencedrill";

    public static ControllerRegistration Register(ControllerBuilder b, OperatorInformers informers, DrillWriter writer, IEventRecorder recorder,
        int workers, TimeProvider time, ILoggerFactory loggers)
    {
        var caches = DrillCaches.Of(informers);
        var expectations = new CacheExpectations(time);
        return b
            .Index(informers.Drills.Store, DrillCaches.ByPolicyIndex, DrillCaches.PolicyOf)
            .Index(informers.Restores.Store, RunCaches.ByPolicyIndex, RunCaches.PolicyOf)
            .Index(informers.Backups.Store, RunCaches.ByPolicyIndex, RunCaches.PolicyOf)
            .For(informers.Drills, Predicates.NotDeleted<ResilienceDrill>())
            // Its policy's changes; and a policy that comes into this shard's cache (a relabel to this shard) brings its drills.
            .Watches(informers.Policies, p => caches.DrillsOf(p.Metadata.NamespaceProperty, p.Metadata.Name).Select(ObjectKey.Of))
            .Watches(informers.Deployments, d => caches.RunningOn(d.Metadata.NamespaceProperty, d.Metadata.Name).Select(ObjectKey.Of))
            .Watches(informers.StatefulSets, d => caches.RunningOn(d.Metadata.NamespaceProperty, d.Metadata.Name).Select(ObjectKey.Of))
            .Watches(informers.Pods, p => caches.RunningOn(p).Select(ObjectKey.Of))
            .Watches(informers.Backups, bk => caches.Verifying(bk).Select(ObjectKey.Of))
            .OnNewTerm(expectations.Clear)
            .Workers(workers)
            .Complete(new DrillReconciler(caches, writer, recorder, expectations, time, loggers.CreateLogger<DrillReconciler>()),
                loggers.CreateLogger<Controller>());
    }
}
