using Prometheus;

namespace ResilienceOperator.Runtime;

/// <summary>
/// A deduplicating, rate-limited work queue with client-go's guarantees: a key waits once however
/// often it is added, is never handed to two workers at once (a key added while it is being
/// processed is queued again when <see cref="Done"/> is called), and is never dropped after
/// failures — it backs off instead.
/// </summary>
internal sealed class WorkQueue<TKey> : IQueueProgress, IDisposable where TKey : notnull
{
    private static readonly Gauge Depth = Metrics.CreateGauge("workqueue_depth", "Current depth of the work queue.", "name");
    private static readonly Counter Adds = Metrics.CreateCounter("workqueue_adds_total", "Total adds handled by the work queue.", "name");
    private static readonly Counter Retries = Metrics.CreateCounter("workqueue_retries_total", "Total retries handled by the work queue.", "name");
    private static readonly Histogram QueueDuration = Metrics.CreateHistogram("workqueue_queue_duration_seconds",
        "How long an item stays in the work queue before being handed to a worker.",
        new HistogramConfiguration { LabelNames = ["name"], Buckets = Histogram.ExponentialBuckets(0.0001, 4, 12) });

    private readonly string _name;
    private readonly TimeProvider _time;
    private readonly RateLimiter<TKey> _limiter;
    private readonly Lock _lock = new();
    private readonly LinkedList<TKey> _queue = new();
    private readonly HashSet<TKey> _dirty = [];
    private readonly HashSet<TKey> _processing = [];
    private readonly Dictionary<TKey, DateTimeOffset> _addedAt = [];
    private readonly SemaphoreSlim _available = new(0);
    private readonly PriorityQueue<TKey, DateTimeOffset> _waiting = new();
    private readonly Dictionary<TKey, DateTimeOffset> _waitingDue = [];
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _delayLoop;
    private bool _shuttingDown;
    private DateTimeOffset? _lastDoneAt;

    public WorkQueue(string name, TimeProvider? time = null, RateLimiter<TKey>? limiter = null)
    {
        _name = name;
        _time = time ?? TimeProvider.System;
        _limiter = limiter ?? new RateLimiter<TKey>(_time);
        _delayLoop = Task.Run(DelayLoopAsync);
    }

    public int Length { get { lock (_lock) return _queue.Count; } }

    public bool IsShuttingDown { get { lock (_lock) return _shuttingDown; } }

    public string Name => _name;

    /// <summary>
    /// When the longest-waiting key was added (keys due now, not those delayed by
    /// <see cref="AddAfter"/>, including a key added again while a worker holds it); null when none waits.
    /// </summary>
    public DateTimeOffset? OldestWaitingSince
    {
        get
        {
            lock (_lock)
            {
                if (_shuttingDown || _addedAt.Count == 0) return null;
                return _addedAt.Values.Min();
            }
        }
    }

    /// <summary>When a worker last finished a key (<see cref="Done"/>); null before the first.</summary>
    public DateTimeOffset? LastDoneAt { get { lock (_lock) return _lastDoneAt; } }

    public void Add(TKey key)
    {
        lock (_lock)
        {
            if (_shuttingDown || !_dirty.Add(key)) return;
            Adds.WithLabels(_name).Inc();
            _addedAt[key] = _time.GetUtcNow();
            if (_processing.Contains(key)) return;
            _queue.AddLast(key);
            Depth.WithLabels(_name).Set(_queue.Count);
        }
        _available.Release();
    }

    /// <summary>Adds the key after a delay; a key already waiting keeps the earlier due time.</summary>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero) { Add(key); return; }
        var due = _time.GetUtcNow() + delay;
        lock (_lock)
        {
            if (_shuttingDown) return;
            if (_waitingDue.TryGetValue(key, out var existing) && existing <= due) return;
            _waitingDue[key] = due;
            _waiting.Enqueue(key, due);
            _wake.TrySetResult();
        }
    }

    public void AddRateLimited(TKey key)
    {
        Retries.WithLabels(_name).Inc();
        AddAfter(key, _limiter.When(key));
    }

    public void Forget(TKey key) => _limiter.Forget(key);

    public int NumRequeues(TKey key) => _limiter.NumRequeues(key);

    /// <summary>Waits for the next key; returns false once the queue shuts down.</summary>
    public async Task<(bool Ok, TKey Key)> GetAsync(CancellationToken ct)
    {
        while (true)
        {
            try { await _available.WaitAsync(ct); }
            catch (OperationCanceledException) { return (false, default!); }
            lock (_lock)
            {
                if (_queue.Count == 0)
                {
                    if (_shuttingDown) { _available.Release(); return (false, default!); }
                    continue;
                }
                var key = _queue.First!.Value;
                _queue.RemoveFirst();
                Depth.WithLabels(_name).Set(_queue.Count);
                _processing.Add(key);
                _dirty.Remove(key);
                if (_addedAt.Remove(key, out var added))
                    QueueDuration.WithLabels(_name).Observe((_time.GetUtcNow() - added).TotalSeconds);
                return (true, key);
            }
        }
    }

    public void Done(TKey key)
    {
        var requeued = false;
        lock (_lock)
        {
            _lastDoneAt = _time.GetUtcNow();
            _processing.Remove(key);
            if (_dirty.Contains(key) && !_shuttingDown)
            {
                _queue.AddLast(key);
                Depth.WithLabels(_name).Set(_queue.Count);
                requeued = true;
            }
        }
        if (requeued) _available.Release();
    }

    /// <summary>
    /// Drops every queued and delayed key and all backoff history, for a new leadership term: the
    /// term seeds the queue itself, and no timer (requeue-after, backoff) of a previous term fires
    /// in it. Unlike <see cref="ShutDown"/> the queue stays usable.
    /// </summary>
    public void Reset()
    {
        lock (_lock)
        {
            _queue.Clear();
            _dirty.Clear();
            _addedAt.Clear();
            _waiting.Clear();
            _waitingDue.Clear();
            Depth.WithLabels(_name).Set(0);
        }
        _limiter.Reset();
    }

    public void ShutDown()
    {
        lock (_lock)
        {
            if (_shuttingDown) return;
            _shuttingDown = true;
            _queue.Clear();
        }
        _stop.Cancel();
        _available.Release(1000);
    }

    public void Dispose()
    {
        ShutDown();
        try { _delayLoop.Wait(TimeSpan.FromSeconds(1)); } catch (AggregateException) { }
        _stop.Dispose();
        _available.Dispose();
    }

    private async Task DelayLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Task wake;
            TimeSpan wait;
            var ready = new List<TKey>();
            lock (_lock)
            {
                var now = _time.GetUtcNow();
                while (_waiting.TryPeek(out var key, out var due) && due <= now)
                {
                    _waiting.Dequeue();
                    // Skip stale heap entries superseded by an earlier due time.
                    if (_waitingDue.TryGetValue(key, out var current) && current == due)
                    {
                        _waitingDue.Remove(key);
                        ready.Add(key);
                    }
                }
                wait = _waiting.TryPeek(out _, out var next) ? next - now : TimeSpan.FromSeconds(1);
                if (_wake.Task.IsCompleted) _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wake = _wake.Task;
            }
            foreach (var k in ready) Add(k);
            if (wait > TimeSpan.FromSeconds(1)) wait = TimeSpan.FromSeconds(1);
            if (wait < TimeSpan.FromMilliseconds(1)) wait = TimeSpan.FromMilliseconds(1);
            try { await Task.WhenAny(wake, Task.Delay(wait, _time, _stop.Token)); }
            catch (OperationCanceledException) { return; }
        }
    }
}

/// <summary>Whether a work queue makes progress: what the readiness check looks at.</summary>
internal interface IQueueProgress
{
    string Name { get; }
    /// <summary>When the longest-waiting item was added; null when none waits.</summary>
    DateTimeOffset? OldestWaitingSince { get; }
    /// <summary>When an item was last done; null before the first.</summary>
    DateTimeOffset? LastDoneAt { get; }
}
