using k8s.Models;
using ResilienceOperator.Entities;

namespace ResilienceOperator.Planning;

/// <summary>
/// The one view of a target the planners and the prober read, whatever its kind: a StatefulSet is
/// seen in the shape of a Deployment (the same metadata object, spec.replicas, spec.selector,
/// spec.template, status.readyReplicas) with <c>Kind</c> StatefulSet, so replica floors, PDBs,
/// health, Service steering and degradation have one code path; the writers look at
/// <see cref="KindOf"/> to send a scale or a template patch to the right API.
/// </summary>
internal static class Workloads
{
    public const string Deployment = nameof(WorkloadKind.Deployment);
    public const string StatefulSet = nameof(WorkloadKind.StatefulSet);

    /// <summary>The kind of a workload view (a Deployment read from the API has its Kind set, or none in tests).</summary>
    public static WorkloadKind KindOf(V1Deployment workload) =>
        workload.Kind == StatefulSet ? WorkloadKind.StatefulSet : WorkloadKind.Deployment;

    /// <summary>A StatefulSet in the Deployment shape; its metadata is the StatefulSet's own object.</summary>
    public static V1Deployment View(V1StatefulSet s) => new()
    {
        ApiVersion = "apps/v1",
        Kind = StatefulSet,
        Metadata = s.Metadata,
        Spec = new V1DeploymentSpec { Replicas = s.Spec?.Replicas, Selector = s.Spec?.Selector, Template = s.Spec?.Template },
        Status = new V1DeploymentStatus { ReadyReplicas = s.Status?.ReadyReplicas, Replicas = s.Status?.Replicas },
    };

    /// <summary>Ready replicas as the workload's own status counts them.</summary>
    public static int ReadyReplicas(V1Deployment workload) => workload.Status?.ReadyReplicas ?? 0;
}
