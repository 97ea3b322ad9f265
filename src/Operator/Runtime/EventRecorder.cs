using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace ResilienceOperator.Runtime;

/// <summary>Kubernetes Events about an object, Normal or Warning, with CamelCase reasons.</summary>
internal interface IEventRecorder
{
    /// <summary>Queues the event and returns at once; it is written in the background (or dropped, never thrown).</summary>
    Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, string type, string reason, string message, CancellationToken ct = default);
}

/// <summary>The two calls events need, apart so a test can make them hang or fail without a cluster.</summary>
internal interface IEventSink
{
    Task<Corev1Event> CreateAsync(Corev1Event ev, string ns, CancellationToken ct);
    Task PatchAsync(string name, string ns, V1Patch patch, CancellationToken ct);
}

/// <summary>core/v1 Events through the API server.</summary>
internal sealed class KubernetesEventSink(IKubernetes client) : IEventSink
{
    public Task<Corev1Event> CreateAsync(Corev1Event ev, string ns, CancellationToken ct) =>
        client.CoreV1.CreateNamespacedEventAsync(ev, ns, cancellationToken: ct);

    public Task PatchAsync(string name, string ns, V1Patch patch, CancellationToken ct) =>
        client.CoreV1.PatchNamespacedEventAsync(patch, name, ns, cancellationToken: ct);
}

/// <summary>
/// Writes core/v1 Events off the reconcile path, like client-go's broadcaster: <see cref="RecordAsync"/>
/// only enqueues into a bounded queue (<see cref="DefaultCapacity"/>; when full the oldest event is
/// dropped and counted in resilience_events_dropped_total{reason="overflow"}), and one background
/// loop writes them in order, so a slow or throttled events API never stalls a worker.
/// As client-go's correlator:
/// - aggregation: a repeat of the same (object, type, reason, message) within <see cref="AggregationWindow"/>
///   patches count and lastTimestamp of the Event already written instead of creating another;
/// - spam filter: per object, a token bucket of <see cref="SpamBurst"/> events refilled one per
///   <see cref="SpamRefill"/> (client-go's defaults: burst 25, qps 1/300), so a policy that warns at
///   every reconcile cannot flood the API server; what it stops is counted (reason="spam").
/// Each write is refused by the <see cref="LeaseFence"/> when the lease is not provably held (counted,
/// reason="not_leader"). Failures are logged, never thrown: an event must not fail a reconcile.
/// </summary>
internal sealed class EventRecorder : IEventRecorder, IAsyncDisposable
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";
    public const int DefaultCapacity = 1000;
    public const int SpamBurst = 25;
    public static readonly TimeSpan SpamRefill = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan AggregationWindow = TimeSpan.FromMinutes(10);
    /// <summary>One write may take this long before it is given up, so one hung request cannot hold back every later event.</summary>
    public static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);

    private static readonly Counter Dropped = Metrics.CreateCounter("resilience_events_dropped_total",
        "Kubernetes Events the operator did not write: overflow (queue full, oldest dropped), spam (per-object rate limit), not_leader, shutdown.", "reason");

    /// <summary>Events dropped so far for <paramref name="reason"/> (for tests and the benchmark).</summary>
    internal static double DroppedTotal(string reason) => Dropped.WithLabels(reason).Value;

    private readonly IEventSink _sink;
    private readonly string _component;
    private readonly ILogger _logger;
    private readonly LeaseFence _fence;
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly Lock _lock = new();
    private readonly LinkedList<PendingEvent> _pending = new();
    private readonly Dictionary<string, (string Name, int Count, DateTimeOffset Last)> _recent = [];
    private readonly Dictionary<string, (double Tokens, DateTimeOffset At)> _buckets = [];
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private TaskCompletionSource _idle = Completed();

    public EventRecorder(IKubernetes client, string component, ILogger logger, LeaseFence? fence = null, TimeProvider? time = null)
        : this(new KubernetesEventSink(client), component, logger, fence, time) { }

    public EventRecorder(IEventSink sink, string component, ILogger logger, LeaseFence? fence = null, TimeProvider? time = null, int capacity = DefaultCapacity)
    {
        _sink = sink;
        _component = component;
        _logger = logger;
        _fence = fence ?? LeaseFence.Unfenced;
        _time = time ?? TimeProvider.System;
        _capacity = capacity;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Events waiting to be written.</summary>
    public int Pending { get { lock (_lock) return _pending.Count; } }

    private sealed record PendingEvent(V1ObjectReference Regarding, string Type, string Reason, string Message, DateTimeOffset At);

    public Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, string type, string reason, string message, CancellationToken ct = default)
    {
        var ns = regarding.Metadata.NamespaceProperty ?? "default";
        var reference = new V1ObjectReference
        {
            ApiVersion = regarding.ApiVersion, Kind = regarding.Kind, Name = regarding.Metadata.Name,
            NamespaceProperty = ns, Uid = regarding.Metadata.Uid, ResourceVersion = regarding.Metadata.ResourceVersion,
        };
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (_stop.IsCancellationRequested) { Dropped.WithLabels("shutdown").Inc(); return Task.CompletedTask; }
            if (!TakeToken(reference, now))
            {
                Dropped.WithLabels("spam").Inc();
                _logger.LogDebug("event {Reason} on {Namespace}/{Name} dropped by the spam filter", reason, ns, reference.Name);
                return Task.CompletedTask;
            }
            if (_pending.Count >= _capacity)
            {
                _pending.RemoveFirst();
                Dropped.WithLabels("overflow").Inc();
            }
            _pending.AddLast(new PendingEvent(reference, type, reason, message, now));
            if (_idle.Task.IsCompleted) _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        _signal.Release();
        return Task.CompletedTask;
    }

    /// <summary>Waits until every queued event is written (or dropped), at most <paramref name="timeout"/>.</summary>
    public async Task FlushAsync(TimeSpan timeout)
    {
        Task idle;
        lock (_lock) idle = _idle.Task;
        if (idle.IsCompleted || timeout <= TimeSpan.Zero) return;
        using var cts = new CancellationTokenSource();
        await Task.WhenAny(idle, Task.Delay(timeout, _time, cts.Token));
        await cts.CancelAsync();
    }

    /// <summary>A bounded flush, then the loop stops; what is still queued is counted as dropped (reason="shutdown").</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        await FlushAsync(drain);
        int left;
        lock (_lock)
        {
            if (_stop.IsCancellationRequested) return;
            left = _pending.Count;
            _pending.Clear();
            _stop.Cancel();
        }
        if (left > 0)
        {
            Dropped.WithLabels("shutdown").Inc(left);
            _logger.LogWarning("{Count} event(s) not written before shutdown", left);
        }
        try { await _loop; } catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero);
        _stop.Dispose();
        _signal.Dispose();
    }

    /// <summary>The per-object token bucket (caller holds the lock).</summary>
    private bool TakeToken(V1ObjectReference o, DateTimeOffset now)
    {
        var key = $"{o.Kind}/{o.NamespaceProperty}/{o.Name}/{o.Uid}";
        if (!_buckets.TryGetValue(key, out var bucket))
        {
            // Bounded memory: a full bucket is what a forgotten object would have anyway after a while.
            if (_buckets.Count > 4096) _buckets.Clear();
            bucket = (SpamBurst, now);
        }
        var tokens = Math.Min(SpamBurst, bucket.Tokens + ((now - bucket.At) / SpamRefill));
        var ok = tokens >= 1;
        _buckets[key] = (ok ? tokens - 1 : tokens, now);
        return ok;
    }

    private async Task LoopAsync()
    {
        while (true)
        {
            try { await _signal.WaitAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            PendingEvent? next;
            lock (_lock)
            {
                next = _pending.First?.Value;
                if (next is null) continue;
                _pending.RemoveFirst();
            }
            try { await WriteAsync(next); }
            catch (NotLeaderException)
            {
                Dropped.WithLabels("not_leader").Inc();
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                _logger.LogWarning("could not record event {Reason} on {Namespace}/{Name}: {Error}",
                    next.Reason, next.Regarding.NamespaceProperty, next.Regarding.Name, ex.Message);
            }
            catch (Exception) { return; }
            finally
            {
                lock (_lock)
                {
                    if (_pending.Count == 0) _idle.TrySetResult();
                }
            }
        }
    }

    private async Task WriteAsync(PendingEvent p)
    {
        var ns = p.Regarding.NamespaceProperty;
        var dedupKey = $"{p.Regarding.Uid}/{p.Type}/{p.Reason}/{p.Message}";
        using var limit = new CancellationTokenSource(WriteTimeout, _time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, limit.Token);
        (string Name, int Count, DateTimeOffset Last) existing;
        bool repeat;
        lock (_lock)
        {
            repeat = _recent.TryGetValue(dedupKey, out existing) && p.At - existing.Last < AggregationWindow;
            if (_recent.Count > 4096) _recent.Clear();
        }
        if (repeat)
        {
            var count = existing.Count + 1;
            var patch = new V1Patch($$"""{"count":{{count}},"lastTimestamp":"{{p.At.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}}"}""", V1Patch.PatchType.MergePatch);
            try
            {
                // Checked right before the request: nothing is written for a term that is over.
                _fence.EnsureHeld();
                await _sink.PatchAsync(existing.Name, ns, patch, timeout.Token);
                lock (_lock) _recent[dedupKey] = (existing.Name, count, p.At);
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                // The Event expired (the API server keeps them an hour): write a new one.
                lock (_lock) _recent.Remove(dedupKey);
            }
        }
        var ev = new Corev1Event
        {
            Metadata = new V1ObjectMeta { GenerateName = p.Regarding.Name + ".", NamespaceProperty = ns },
            InvolvedObject = p.Regarding,
            Type = p.Type, Reason = p.Reason, Message = p.Message, Count = 1,
            FirstTimestamp = p.At.UtcDateTime, LastTimestamp = p.At.UtcDateTime,
            Source = new V1EventSource { Component = _component },
            ReportingComponent = _component, ReportingInstance = Environment.MachineName,
        };
        _fence.EnsureHeld();
        var created = await _sink.CreateAsync(ev, ns, timeout.Token);
        lock (_lock) _recent[dedupKey] = (created.Metadata?.Name ?? "", 1, p.At);
    }

    private static TaskCompletionSource Completed()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.TrySetResult();
        return tcs;
    }
}
