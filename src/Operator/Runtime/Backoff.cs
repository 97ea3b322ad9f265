namespace ResilienceOperator.Runtime;

/// <summary>
/// Exponential backoff with "equal jitter": each wait is drawn from [d/2, d] where d doubles from
/// <c>initial</c> up to <c>max</c>. The jitter spreads informers that failed together (an API
/// server restart) so that they do not come back in lockstep; the lower half keeps waits growing.
/// Not thread-safe: one per retry loop.
/// </summary>
internal sealed class Backoff(TimeSpan initial, TimeSpan max)
{
    private readonly TimeSpan _initial = initial;
    private TimeSpan _current = initial;

    public TimeSpan Next()
    {
        var d = _current;
        _current = TimeSpan.FromTicks(Math.Min(_current.Ticks * 2, max.Ticks));
        return d / 2 + TimeSpan.FromTicks(Random.Shared.NextInt64(d.Ticks / 2 + 1));
    }

    public void Reset() => _current = _initial;
}
