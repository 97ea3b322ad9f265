using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Drills;
using ResilienceOperator.Entities;
using ResilienceOperator.Health;
using ResilienceOperator.Hosting;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Notifications;
using ResilienceOperator.Reconcilers;
using ResilienceOperator.Runtime;

namespace ResilienceOperator;

/// <summary>
/// Wires the informers, the work queue, the prober and the reconciler together and runs them,
/// under leader election when asked. Usable in-process (tests, demo) and from <c>Program</c>.
/// </summary>
internal sealed class OperatorHost(IKubernetes client, OperatorOptions options, ILoggerFactory loggers, TimeProvider? timeProvider = null) : IOperatorState, IDisposable
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly ILogger _log = loggers.CreateLogger("ResilienceOperator");
    private readonly List<IInformer> _informers = [];
    private HealthProber? _prober;
    private WorkQueue<ObjectKey>? _queue;
    private WorkQueue<ObjectKey>? _backupQueue;
    private WorkQueue<ObjectKey>? _restoreQueue;
    private DrillControllers? _drillControllers;
    private Action<IKubernetesObject<V1ObjectMeta>> Wrote { get; set; } = _ => { };

    /// <summary>True once every cache has listed (what /readyz reports).</summary>
    public bool CachesSynced => _informers.Count > 0 && _informers.All(i => i.HasSynced);

    public bool IsLeading { get; private set; }

    /// <summary>Every work queue, for the readiness check (empty until <see cref="RunAsync"/> made them).</summary>
    public IReadOnlyList<IQueueProgress> Queues =>
        [.. new IQueueProgress?[] { _queue, _backupQueue, _restoreQueue }.OfType<IQueueProgress>(), .. _drillControllers?.Queues ?? []];

    public async Task RunAsync(CancellationToken ct)
    {
        var pdbVersion = await DiscoverPdbVersionAsync(ct);
        _log.LogInformation("PodDisruptionBudgets through {Version}", pdbVersion);
        IReadOnlyList<string?> namespaces = options.Namespaces.Count == 0 ? [null] : [.. options.Namespaces];
        Informer<T> Make<T>(string name, ListWatch<T> lw) where T : class, IKubernetesObject<V1ObjectMeta>
        {
            var inf = new Informer<T>(name, lw, namespaces, loggers.CreateLogger("Informer"));
            _informers.Add(inf);
            return inf;
        }
        var policies = Make("resiliencepolicies", ListWatches.Policies(client));
        var deployments = Make("deployments", ListWatches.Deployments(client));
        var pods = Make("pods", ListWatches.Pods(client));
        var services = Make("services", ListWatches.Services(client));
        var hpas = Make("horizontalpodautoscalers", ListWatches.Hpas(client));
        var pdbs = Make("poddisruptionbudgets", ListWatches.Pdbs(client, pdbVersion));
        var backups = Make("resiliencebackups", ListWatches.Backups(client));
        var restores = Make("resiliencerestores", ListWatches.Restores(client));
        var jobs = Make("jobs", ListWatches.Jobs(client));
        var drills = Make("resiliencedrills", ListWatches.Drills(client));
        // KEDA is optional: without its API the ScaledObject cache simply stays empty.
        var scaledObjects = await ServesScaledObjectsAsync(ct) ? Make("scaledobjects", ListWatches.ScaledObjects(client)) : null;
        var scaledObjectStore = scaledObjects?.Store ?? new Store<ScaledObject>();
        scaledObjectStore.AddIndex(PolicyCaches.ScaledObjectTargetIndex, s => s.TargetDeployment is { } d ? [s.Metadata.NamespaceProperty + "/" + d] : []);

        // Targets, and the Deployments graceful degradation sheds or falls back to: a change to any of them is a reason to look again.
        policies.Store.AddIndex(PolicyCaches.PolicyTargetIndex, p => (p.Spec.Targets ?? []).Select(t => t.Name)
            .Concat(ResiliencePolicyReconciler.DegradationNames(p)).Distinct(StringComparer.Ordinal).Select(n => p.Metadata.NamespaceProperty + "/" + n));
        policies.Store.AddIndex(PolicyCaches.PolicyServiceIndex, p => [p.Metadata.NamespaceProperty + "/" + (p.Spec.Service?.Name ?? "")]);
        hpas.Store.AddIndex(PolicyCaches.HpaTargetIndex, h => h.Spec.ScaleTargetRef.Kind == "Deployment" ? [h.Metadata.NamespaceProperty + "/" + h.Spec.ScaleTargetRef.Name] : []);
        pdbs.Store.AddIndex(PolicyCaches.OwnerIndex, p => (p.Metadata.OwnerReferences ?? []).Select(o => o.Uid));
        backups.Store.AddIndex(RunCaches.ByPolicyIndex, b => [b.Metadata.NamespaceProperty + "/" + b.Spec.Policy]);
        restores.Store.AddIndex(RunCaches.ByPolicyIndex, r => [r.Metadata.NamespaceProperty + "/" + r.Spec.Policy]);
        jobs.Store.AddIndex(RunCaches.OwnerIndex, j => (j.Metadata.OwnerReferences ?? []).Select(o => o.Uid));

        var queue = _queue = new WorkQueue<ObjectKey>("resiliencepolicy", _time);
        // Every write is fenced by the lease: refused unless it is provably held at that moment.
        var fence = options.LeaderElect ? new LeaseFence(_time, options.RenewDeadline) : LeaseFence.Unfenced;
        var writer = new ClusterWriter(client, pdbVersion, fence);
        var prober = _prober = new HealthProber(policies.Store, deployments.Store, pods.Store, queue.Add, writer, _time, loggers.CreateLogger<HealthProber>(),
            guard: new ObserverGuard(options.ObserverSuspectThreshold, options.ObserverSuspectMinTargets));
        await using var recorder = new EventRecorder(client, "resilience-operator", loggers.CreateLogger<EventRecorder>(), fence, _time);
        // Webhook notifications: planned from the status records as they enter the caches, sent
        // by their own loops so that reconciling never waits for a webhook.
        await using var notifications = new NotificationDispatcher(client, policies.Store, restores.Store, drills.Store, recorder, () => IsLeading,
            options.Notifications, _time, loggers);
        await notifications.StartAsync();
        var reconciler = new ResiliencePolicyReconciler(new PolicyCaches(policies.Store, deployments.Store, services.Store, hpas.Store, pdbs.Store, backups.Store, restores.Store, scaledObjectStore),
            prober, writer, recorder, _time, loggers.CreateLogger<ResiliencePolicyReconciler>(), o => Wrote(o));
        var controller = new Controller("resiliencepolicy", reconciler, queue, options.Workers, loggers.CreateLogger<Controller>());

        // Backups and restores: a controller each, with their own queues, keyed by their own names.
        var runCaches = new RunCaches(policies.Store, backups.Store, restores.Store, jobs.Store);
        var backupQueue = _backupQueue = new WorkQueue<ObjectKey>("resiliencebackup", _time);
        var restoreQueue = _restoreQueue = new WorkQueue<ObjectKey>("resiliencerestore", _time);
        var backupController = new Controller("resiliencebackup",
            new BackupReconciler(runCaches, writer, recorder, _time, loggers.CreateLogger<BackupReconciler>(), o => Wrote(o)), backupQueue, options.Workers, loggers.CreateLogger<Controller>());
        var restoreController = new Controller("resiliencerestore",
            new RestoreReconciler(runCaches, writer, recorder, _time, loggers.CreateLogger<RestoreReconciler>(), o => Wrote(o)), restoreQueue, options.Workers, loggers.CreateLogger<Controller>());
        // Drills: their own controller (keyed by drill) and scheduler (keyed by policy), see Drills/DrillControllers.cs.
        var drillControllers = _drillControllers = new DrillControllers(client, recorder, policies, deployments, pods, restores.Store, drills, options.Workers, fence, _time, loggers);
        void PolicyOf(string ns, string policy) => queue.Add(new ObjectKey(ns, policy));
        void RestoresOf(string ns, string policy)
        {
            foreach (var r in restores.Store.ByIndex(RunCaches.ByPolicyIndex, ns + "/" + policy)) restoreQueue.Add(ObjectKey.Of(r));
        }
        void BackupChanged(ResilienceBackup b)
        {
            backupQueue.Add(ObjectKey.Of(b));
            PolicyOf(b.Metadata.NamespaceProperty, b.Spec.Policy);
            RestoresOf(b.Metadata.NamespaceProperty, b.Spec.Policy); // a restore may wait for this backup
        }
        void RestoreChanged(ResilienceRestore r)
        {
            restoreQueue.Add(ObjectKey.Of(r));
            PolicyOf(r.Metadata.NamespaceProperty, r.Spec.Policy);
        }
        // The operator's own writes go into the caches at once (write-through), and the informer
        // then skips their events: the writers report them here instead.
        Wrote = o =>
        {
            if (o is ResilienceBackup b) BackupChanged(b);
            else if (o is ResilienceRestore r) RestoreChanged(r);
        };
        backups.Added += BackupChanged;
        backups.Updated += (_, b) => BackupChanged(b);
        backups.Deleted += b => PolicyOf(b.Metadata.NamespaceProperty, b.Spec.Policy);
        restores.Added += RestoreChanged;
        restores.Updated += (_, r) => RestoreChanged(r);
        restores.Deleted += r => PolicyOf(r.Metadata.NamespaceProperty, r.Spec.Policy);
        void Job(V1Job j)
        {
            var labels = j.Metadata.Labels;
            if (labels is null) return;
            if (labels.TryGetValue(Labels.Backup, out var b)) backupQueue.Add(new ObjectKey(j.Metadata.NamespaceProperty, b));
            if (labels.TryGetValue(Labels.Restore, out var r)) restoreQueue.Add(new ObjectKey(j.Metadata.NamespaceProperty, r));
        }
        jobs.Added += Job;
        jobs.Updated += (_, j) => Job(j);
        jobs.Deleted += Job;

        // Every trigger becomes a policy key on the one queue.
        policies.Added += p => { queue.Add(ObjectKey.Of(p)); prober.CheckSoon(ObjectKey.Of(p)); };
        policies.Updated += (o, n) =>
        {
            queue.Add(ObjectKey.Of(n));
            if (o.Metadata.Generation != n.Metadata.Generation) prober.CheckSoon(ObjectKey.Of(n));
        };
        policies.Deleted += p => queue.Add(ObjectKey.Of(p));
        void ByIndex(string index, string value)
        {
            foreach (var p in policies.Store.ByIndex(index, value)) queue.Add(ObjectKey.Of(p));
        }
        deployments.Added += d => ByIndex(PolicyCaches.PolicyTargetIndex, d.Metadata.NamespaceProperty + "/" + d.Metadata.Name);
        deployments.Updated += (o, d) =>
        {
            // Status-only churn (ready counts) reaches policies through the prober's verdicts.
            if (o.Metadata.Generation != d.Metadata.Generation || o == d)
                ByIndex(PolicyCaches.PolicyTargetIndex, d.Metadata.NamespaceProperty + "/" + d.Metadata.Name);
        };
        deployments.Deleted += d => ByIndex(PolicyCaches.PolicyTargetIndex, d.Metadata.NamespaceProperty + "/" + d.Metadata.Name);
        services.Added += s => ByIndex(PolicyCaches.PolicyServiceIndex, s.Metadata.NamespaceProperty + "/" + s.Metadata.Name);
        services.Updated += (_, s) => ByIndex(PolicyCaches.PolicyServiceIndex, s.Metadata.NamespaceProperty + "/" + s.Metadata.Name);
        services.Deleted += s => ByIndex(PolicyCaches.PolicyServiceIndex, s.Metadata.NamespaceProperty + "/" + s.Metadata.Name);
        void Hpa(V1HorizontalPodAutoscaler h) => ByIndex(PolicyCaches.PolicyTargetIndex, h.Metadata.NamespaceProperty + "/" + h.Spec.ScaleTargetRef.Name);
        if (scaledObjects is not null)
        {
            void So(ScaledObject s)
            {
                if (s.TargetDeployment is { } d) ByIndex(PolicyCaches.PolicyTargetIndex, s.Metadata.NamespaceProperty + "/" + d);
            }
            scaledObjects.Added += So;
            scaledObjects.Updated += (_, s) => So(s);
            scaledObjects.Deleted += So;
        }
        hpas.Added += Hpa;
        hpas.Updated += (_, h) => Hpa(h);
        hpas.Deleted += Hpa;
        void Pdb(PodDisruptionBudgetObject p)
        {
            if (p.Metadata.Labels?.TryGetValue(Labels.Policy, out var owner) == true) queue.Add(new ObjectKey(p.Metadata.NamespaceProperty, owner));
        }
        pdbs.Updated += (_, p) => Pdb(p);
        pdbs.Deleted += Pdb;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var informerTasks = _informers.Select(i => Task.Run(() => i.RunAsync(stop.Token), CancellationToken.None)).ToList();
        var resync = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { await Task.Delay(options.ResyncPeriod, _time, stop.Token); } catch (OperationCanceledException) { return; }
                policies.Resync();
                backups.Resync();
                restores.Resync();
            }
        }, CancellationToken.None);

        async Task Work(CancellationToken leading)
        {
            while (!CachesSynced) await Task.Delay(50, leading);
            _log.LogInformation("caches synced; starting {Workers} workers", options.Workers);
            // A new term: no verdict, timer or backoff of a previous term drives a decision in this one.
            prober.ResetTerm();
            queue.Reset();
            backupQueue.Reset();
            restoreQueue.Reset();
            drillControllers.Reset();
            IsLeading = true;
            try
            {
                // Seed the queue: level-triggered, so every policy is looked at after a (re)start.
                foreach (var p in policies.Store.List()) queue.Add(ObjectKey.Of(p));
                foreach (var b in backups.Store.List()) backupQueue.Add(ObjectKey.Of(b));
                foreach (var r in restores.Store.List()) restoreQueue.Add(ObjectKey.Of(r));
                drillControllers.Seed();
                await Task.WhenAll(controller.RunAsync(leading), backupController.RunAsync(leading), restoreController.RunAsync(leading), drillControllers.RunAsync(leading), prober.RunAsync(leading));
            }
            finally
            {
                IsLeading = false;
                // Still this term's lease (released after this returns): its Events may go out, briefly.
                await recorder.FlushAsync(options.EventDrain);
            }
        }

        try
        {
            if (options.LeaderElect)
                await new LeaderElection(new KubernetesLeaseStore(client, options.LeaseNamespace, options.LeaseName), options.LeaseName, options.Identity,
                    options.LeaderElectionTimings, fence, _time, loggers.CreateLogger<LeaderElection>()).RunAsync(Work, ct);
            else
                await Work(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        finally
        {
            queue.ShutDown();
            backupQueue.ShutDown();
            restoreQueue.ShutDown();
            drillControllers.ShutDown();
            await stop.CancelAsync();
            await Task.WhenAll(informerTasks.Append(resync)).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
            // A short, bounded drain: what is still queued after it is logged and counted as dropped.
            await notifications.StopAsync(options.NotificationDrain);
            await recorder.StopAsync(options.EventDrain);
            _log.LogInformation("stopped");
        }
    }

    /// <summary>
    /// Whether the API server serves KEDA's ScaledObjects, checked once at start-up: without KEDA
    /// the operator runs as before (a KEDA installed later is seen after a restart).
    /// </summary>
    private Task<bool> ServesScaledObjectsAsync(CancellationToken ct) =>
        StartupRetry.UntilAnsweredAsync("looking for KEDA", TryScaledObjectsAsync, _log, ct, _time);

    private async Task<bool> TryScaledObjectsAsync(CancellationToken ct)
    {
        try
        {
            if (options.Namespaces.Count > 0)
                await client.CustomObjects.ListNamespacedCustomObjectAsync(ScaledObject.Group, ScaledObject.Version, options.Namespaces[0], ScaledObject.Plural, limit: 1, cancellationToken: ct);
            else
                await client.CustomObjects.ListClusterCustomObjectAsync(ScaledObject.Group, ScaledObject.Version, ScaledObject.Plural, limit: 1, cancellationToken: ct);
            _log.LogInformation("KEDA ScaledObjects found: they are paused during failovers");
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            _log.LogInformation("KEDA is not installed ({Group}/{Version} {Plural} not served): no autoscaler interlock", ScaledObject.Group, ScaledObject.Version, ScaledObject.Plural);
            return false;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            _log.LogWarning("listing {Group} {Plural} is forbidden: no autoscaler interlock (grant get, list, watch, patch on it)", ScaledObject.Group, ScaledObject.Plural);
            return false;
        }
    }

    private Task<string> DiscoverPdbVersionAsync(CancellationToken ct) =>
        StartupRetry.UntilAnsweredAsync("discovering the PodDisruptionBudget API", TryPdbVersionAsync, _log, ct, _time);

    private Task<string> TryPdbVersionAsync(CancellationToken ct) => ServerCompatibility.PdbGroupVersionAsync(client, options.Namespaces.Count > 0, ct);

    public void Dispose()
    {
        _prober?.Dispose();
        _queue?.Dispose();
        _backupQueue?.Dispose();
        _restoreQueue?.Dispose();
        _drillControllers?.Dispose();
    }
}
