using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace ResilienceOperator.Runtime;

/// <summary>What a reconcile asks of the runtime afterwards.</summary>
internal readonly record struct ReconcileResult(TimeSpan? RequeueAfter = null)
{
    public static ReconcileResult Done => default;
    public static ReconcileResult After(TimeSpan delay) => new(delay);
}

/// <summary>Level-triggered reconcile of one object by key.</summary>
internal interface IReconciler
{
    Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct);
}

/// <summary>Thrown for conflicts and other conditions that only need a requeue, not an error log.</summary>
internal sealed class RequeueException(string message, TimeSpan? after = null) : Exception(message)
{
    public TimeSpan? After { get; } = after;
}

/// <summary>
/// One queue and a pool of workers for one reconciler, with controller-runtime's metrics. Every
/// trigger — watch events, related objects, probe verdicts, requeues — goes through the queue.
/// </summary>
internal sealed class Controller(string name, IReconciler reconciler, WorkQueue<ObjectKey> queue, int workers, ILogger logger)
{
    private static readonly Counter ReconcileTotal = Metrics.CreateCounter("controller_runtime_reconcile_total",
        "Total number of reconciliations per controller.", "controller", "result");
    private static readonly Counter ReconcileErrors = Metrics.CreateCounter("controller_runtime_reconcile_errors_total",
        "Total number of reconciliation errors per controller.", "controller");
    private static readonly Histogram ReconcileTime = Metrics.CreateHistogram("controller_runtime_reconcile_time_seconds",
        "Length of time per reconciliation per controller.",
        new HistogramConfiguration { LabelNames = ["controller"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });
    private static readonly Gauge ActiveWorkers = Metrics.CreateGauge("controller_runtime_active_workers",
        "Number of currently used workers per controller.", "controller");

    public string Name => name;
    public WorkQueue<ObjectKey> Queue => queue;

    public Task RunAsync(CancellationToken ct) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkerAsync(ct), CancellationToken.None)));

    private async Task WorkerAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var (ok, key) = await queue.GetAsync(ct);
            if (!ok) return;
            ActiveWorkers.WithLabels(name).Inc();
            var sw = Stopwatch.StartNew();
            string? result;
            using (logger.BeginScope(new Dictionary<string, object>
            {
                ["controller"] = name, ["namespace"] = key.Namespace, ["name"] = key.Name,
                ["reconcileID"] = Guid.NewGuid().ToString("N")[..12],
            }))
            {
                try
                {
                    var r = await reconciler.ReconcileAsync(key, ct);
                    queue.Forget(key);
                    if (r.RequeueAfter is { } after)
                    {
                        queue.AddAfter(key, after);
                        result = "requeue_after";
                    }
                    else result = "success";
                }
                catch (NotLeaderException ex)
                {
                    // The lease is not provably ours: the fence has ended the term, so this worker stops.
                    // Not an error, not a retry: the next leader reconciles everything anyway.
                    logger.LogInformation("reconcile {Key} stopped: {Reason}", key, ex.Message);
                    result = null;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    result = "error";
                }
                catch (RequeueException rq)
                {
                    logger.LogDebug("requeue {Key}: {Reason}", key, rq.Message);
                    if (rq.After is { } after) queue.AddAfter(key, after); else queue.AddRateLimited(key);
                    result = "requeue";
                }
                catch (Exception ex)
                {
                    ReconcileErrors.WithLabels(name).Inc();
                    logger.LogError(ex, "reconcile {Key} failed (attempt {Attempt})", key, queue.NumRequeues(key) + 1);
                    queue.AddRateLimited(key);
                    result = "error";
                }
                finally
                {
                    queue.Done(key);
                    ActiveWorkers.WithLabels(name).Dec();
                }
            }
            if (result is null) return;
            ReconcileTime.WithLabels(name).Observe(sw.Elapsed.TotalSeconds);
            ReconcileTotal.WithLabels(name, result).Inc();
        }
    }
}
