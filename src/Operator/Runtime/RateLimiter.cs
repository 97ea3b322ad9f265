namespace ResilienceOperator.Runtime;

/// <summary>
/// client-go's default controller rate limiter: the larger of a per-item exponential backoff
/// (5 ms doubling to 1000 s, with up to 10% jitter) and an overall token bucket (10 qps, burst 100).
/// </summary>
internal sealed class RateLimiter<TKey>(TimeProvider time, TimeSpan? baseDelay = null, TimeSpan? maxDelay = null, double qps = 10, int burst = 100)
    where TKey : notnull
{
    private readonly TimeSpan _base = baseDelay ?? TimeSpan.FromMilliseconds(5);
    private readonly TimeSpan _max = maxDelay ?? TimeSpan.FromSeconds(1000);
    private readonly Dictionary<TKey, int> _failures = [];
    private readonly Lock _lock = new();
    private double _tokens = burst;
    private DateTimeOffset _last = time.GetUtcNow();

    public TimeSpan When(TKey key)
    {
        lock (_lock)
        {
            _failures.TryGetValue(key, out var n);
            _failures[key] = n + 1;
            var exp = _base.TotalSeconds * Math.Pow(2, Math.Min(n, 40));
            var itemDelay = Math.Min(exp, _max.TotalSeconds);
            itemDelay += itemDelay * 0.1 * Random.Shared.NextDouble();
            itemDelay = Math.Min(itemDelay, _max.TotalSeconds);
            return TimeSpan.FromSeconds(Math.Max(itemDelay, BucketDelaySeconds()));
        }
    }

    public int NumRequeues(TKey key)
    {
        lock (_lock) return _failures.TryGetValue(key, out var n) ? n : 0;
    }

    public void Forget(TKey key)
    {
        lock (_lock) _failures.Remove(key);
    }

    /// <summary>Forgets every key's failures and refills the bucket.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _failures.Clear();
            _tokens = burst;
            _last = time.GetUtcNow();
        }
    }

    private double BucketDelaySeconds()
    {
        var now = time.GetUtcNow();
        _tokens = Math.Min(burst, _tokens + (now - _last).TotalSeconds * qps);
        _last = now;
        _tokens -= 1;
        return _tokens >= 0 ? 0 : -_tokens / qps;
    }
}
