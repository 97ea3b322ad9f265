using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Controllers;

/// <summary>
/// The informers the operator runs, one per kind, shared by every controller registration (the
/// manager's cache in controller-runtime's terms). Only they write the caches.
/// </summary>
internal sealed class OperatorInformers
{
    private readonly List<IInformer> _all = [];

    public OperatorInformers(IKubernetes client, IReadOnlyList<string?> namespaces, string pdbVersion, bool scaledObjects,
        Microsoft.Extensions.Logging.ILogger logger, ApiServerReachability reachability, LabelSelector? shard = null)
    {
        Informer<T> Make<T>(string name, ListWatch<T> lw) where T : class, IKubernetesObject<V1ObjectMeta>
        {
            var inf = new Informer<T>(name, lw, namespaces, logger, reachability: reachability);
            _all.Add(inf);
            return inf;
        }
        // A shard lists and watches only its own policies: another shard's are neither cached nor probed.
        Policies = Make("resiliencepolicies", ListWatches.Policies(client, shard?.Text));
        Shard = new PolicyShard(shard ?? LabelSelector.Everything, Policies.Store, (ns, name, ct) => PolicyReader.ExistsAsync(client, ns, name, ct));
        Deployments = Make("deployments", ListWatches.Deployments(client));
        StatefulSets = Make("statefulsets", ListWatches.StatefulSets(client));
        Pods = Make("pods", ListWatches.Pods(client));
        LabelIndex.AddTo(Pods.Store);
        Services = Make("services", ListWatches.Services(client));
        Hpas = Make("horizontalpodautoscalers", ListWatches.Hpas(client));
        Pdbs = Make("poddisruptionbudgets", ListWatches.Pdbs(client, pdbVersion));
        Backups = Make("resiliencebackups", ListWatches.Backups(client));
        Restores = Make("resiliencerestores", ListWatches.Restores(client));
        Jobs = Make("jobs", ListWatches.Jobs(client));
        Drills = Make("resiliencedrills", ListWatches.Drills(client));
        // KEDA is optional: without its API the ScaledObject cache simply stays empty.
        ScaledObjects = scaledObjects ? Make("scaledobjects", ListWatches.ScaledObjects(client)) : null;
        ScaledObjectStore = ScaledObjects?.Store ?? new Store<ScaledObject>();
    }

    public Informer<ResiliencePolicy> Policies { get; }
    /// <summary>Which policies, and so which backups, restores and drills, this replica answers for.</summary>
    public PolicyShard Shard { get; }
    public Informer<V1Deployment> Deployments { get; }
    public Informer<V1StatefulSet> StatefulSets { get; }
    public Informer<V1Pod> Pods { get; }
    public Informer<V1Service> Services { get; }
    public Informer<V1HorizontalPodAutoscaler> Hpas { get; }
    public Informer<PodDisruptionBudgetObject> Pdbs { get; }
    public Informer<ResilienceBackup> Backups { get; }
    public Informer<ResilienceRestore> Restores { get; }
    public Informer<V1Job> Jobs { get; }
    public Informer<ResilienceDrill> Drills { get; }
    /// <summary>Null without KEDA.</summary>
    public Informer<ScaledObject>? ScaledObjects { get; }
    /// <summary>The ScaledObject cache; empty without KEDA.</summary>
    public Store<ScaledObject> ScaledObjectStore { get; }

    public IReadOnlyList<IInformer> All => _all;

    /// <summary>The safety net for missed events: every cached policy, backup and restore re-announced.</summary>
    public void Resync()
    {
        Policies.Resync();
        Backups.Resync();
        Restores.Resync();
    }
}
