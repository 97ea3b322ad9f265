using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using ResilienceOperator.Controllers;
using ResilienceOperator.Entities;
using ResilienceOperator.Hosting;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Notifications;
using ResilienceOperator.Planning;
using ResilienceOperator.Runtime;

namespace ResilienceOperator;

/// <summary>
/// Runs the operator: the informers, then one registration per controller (each owns its
/// watches, indexes, event-to-key mapping, predicates and queue), under leader election when
/// asked. Usable in-process (tests, demo) and from <c>Program</c>.
/// </summary>
internal sealed class OperatorHost(
    IKubernetes client, OperatorOptions options, ILoggerFactory loggers, TimeProvider? timeProvider = null)
    : IOperatorState, IDisposable
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    /// <summary>Shared by the informers and the leader elector: the API server answers again, stop backing off.</summary>
    private readonly ApiServerReachability _reachability = new();
    private readonly ILogger _log = loggers.CreateLogger("ResilienceOperator");
    private IReadOnlyList<IInformer> _informers = [];
    private IReadOnlyList<ControllerRegistration> _controllers = [];

    /// <summary>True once every cache has listed (what /readyz reports).</summary>
    public bool CachesSynced => _informers.Count > 0 && _informers.All(i => i.HasSynced);

    public bool IsLeading { get; private set; }

    /// <summary>Every work queue, for the readiness check (empty until <see cref="RunAsync"/> made them).</summary>
    public IReadOnlyList<IQueueProgress> Queues => [.. _controllers.Select(c => c.Queue).OfType<IQueueProgress>()];

    public async Task RunAsync(CancellationToken ct)
    {
        // The two start-up questions to the API server are asked together: each is a round trip
        // before the first LIST, and a busy API server makes a round trip long.
        var (pdbVersionTask, kedaTask) = (DiscoverPdbVersionAsync(ct), ServesScaledObjectsAsync(ct));
        await Task.WhenAll(pdbVersionTask, kedaTask);
        var pdbVersion = await pdbVersionTask;
        _log.LogInformation("PodDisruptionBudgets through {Version}", pdbVersion);
        IReadOnlyList<string?> namespaces = options.Namespaces.Count == 0 ? [null] : [.. options.Namespaces];
        var informers = new OperatorInformers(client, namespaces, pdbVersion, await kedaTask,
            loggers.CreateLogger("Informer"), _reachability, options.ShardSelector);
        if (!options.ShardSelector.IsEverything)
            _log.LogInformation("shard: only the ResiliencePolicies matching {Selector}, leading through Lease {Lease}",
                options.ShardSelector, options.LeaseName);

        // Every write is fenced by the lease: refused unless it is provably held at that moment.
        var fence = options.LeaderElect ? new LeaseFence(_time, options.RenewDeadline) : LeaseFence.Unfenced;
        var writer = new ClusterWriter(client, pdbVersion, fence);
        var drillWriter = new DrillWriter(client, fence);
        await using var recorder = new EventRecorder(client, "resilience-operator", loggers.CreateLogger<EventRecorder>(), fence, _time);
        // Webhook notifications: planned from the status records as the informers see them, sent
        // by their own loops so that reconciling never waits for a webhook.
        await using var notifications = new NotificationDispatcher(client, informers.Policies.Store, recorder, () => IsLeading,
            options.Notifications, _time, loggers);
        await notifications.StartAsync();

        ControllerBuilder Controller(string name) => new(name, _time);
        var guard = new ObserverGuard<ObjectKey>(options.ObserverSuspectThreshold, options.ObserverSuspectMinTargets);
        _controllers =
        [
            PolicyController.Register(Controller(PolicyController.Name), informers, writer, recorder, guard, options.Workers, _time, loggers),
            BackupController.Register(Controller(BackupController.Name), informers, writer, recorder, options.Workers, _time, loggers),
            RestoreController.Register(Controller(RestoreController.Name), informers, writer, recorder, options.Workers, _time, loggers),
            DrillController.Register(Controller(DrillController.Name), informers, drillWriter, recorder, options.Workers, _time, loggers),
            DrillScheduleController.Register(Controller(DrillScheduleController.Name), informers, drillWriter, recorder, _time, loggers),
            NotificationController.Register(Controller(NotificationController.Name), informers, notifications),
        ];
        _informers = informers.All;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var informerTasks = _informers.Select(i => Task.Run(() => i.RunAsync(stop.Token), CancellationToken.None)).ToList();
        var resync = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { await Task.Delay(options.ResyncPeriod, _time, stop.Token); } catch (OperationCanceledException) { return; }
                informers.Resync();
            }
        }, CancellationToken.None);
        var compaction = Task.Run(() => new HeapCompaction(() => CachesSynced && Queues.All(q => q.OldestWaitingSince is null), _log, _time)
            .RunAsync(stop.Token), CancellationToken.None);

        async Task Work(CancellationToken leading)
        {
            while (!CachesSynced) await Task.Delay(50, leading);
            _log.LogInformation("caches synced; starting {Workers} workers", options.Workers);
            // A new term: no verdict, timer or backoff of a previous term drives a decision in this one.
            foreach (var c in _controllers) c.NewTerm();
            IsLeading = true;
            try
            {
                // Seed the queues: level-triggered, so every object is looked at after a (re)start.
                foreach (var c in _controllers) c.Seed();
                await Task.WhenAll(_controllers.Select(c => c.RunAsync(leading)));
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
                    options.LeaderElectionTimings, fence, _time, loggers.CreateLogger<LeaderElection>(), _reachability).RunAsync(Work, ct);
            else
                await Work(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        finally
        {
            foreach (var c in _controllers) c.ShutDown();
            await stop.CancelAsync();
            await Task.WhenAll(informerTasks.Append(resync).Append(compaction)).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None)
                .ContinueWith(_ => { }, TaskScheduler.Default);
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
                await client.CustomObjects.ListNamespacedCustomObjectAsync(ScaledObject.Group, ScaledObject.Version,
                    options.Namespaces[0], ScaledObject.Plural, limit: 1, cancellationToken: ct);
            else
                await client.CustomObjects.ListClusterCustomObjectAsync(ScaledObject.Group, ScaledObject.Version, ScaledObject.Plural,
                    limit: 1, cancellationToken: ct);
            _log.LogInformation("KEDA ScaledObjects found: they are paused during failovers");
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            _log.LogInformation("KEDA is not installed ({Group}/{Version} {Plural} not served): no autoscaler interlock",
                ScaledObject.Group, ScaledObject.Version, ScaledObject.Plural);
            return false;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            _log.LogWarning("listing {Group} {Plural} is forbidden: no autoscaler interlock (grant get, list, watch, patch on it)",
                ScaledObject.Group, ScaledObject.Plural);
            return false;
        }
    }

    private Task<string> DiscoverPdbVersionAsync(CancellationToken ct) =>
        StartupRetry.UntilAnsweredAsync("discovering the PodDisruptionBudget API", TryPdbVersionAsync, _log, ct, _time);

    private Task<string> TryPdbVersionAsync(CancellationToken ct) => ServerCompatibility.PdbGroupVersionAsync(client, options.Namespaces.Count > 0, ct);

    public void Dispose()
    {
        foreach (var c in _controllers) c.Dispose();
    }
}
