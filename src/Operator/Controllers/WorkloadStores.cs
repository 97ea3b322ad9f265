using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>The caches of the two kinds a target can be, read through <see cref="Workloads.View"/>'s one shape.</summary>
internal sealed record WorkloadStores(Store<V1Deployment> Deployments, Store<V1StatefulSet> StatefulSets)
{
    /// <summary>The workload of that kind, or null.</summary>
    public V1Deployment? Get(string ns, string name, WorkloadKind kind) => kind == WorkloadKind.StatefulSet
        ? StatefulSets.Get(ns, name) is { } s ? Workloads.View(s) : null
        : Deployments.Get(ns, name);

    /// <summary>The workload of the declared kind or, when there is none, one of the other kind (reported as a kind mismatch).</summary>
    public V1Deployment? Find(string ns, string name, WorkloadKind kind) =>
        Get(ns, name, kind) ?? Get(ns, name, kind == WorkloadKind.StatefulSet ? WorkloadKind.Deployment : WorkloadKind.StatefulSet);
}
