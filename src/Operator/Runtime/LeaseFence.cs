namespace ResilienceOperator.Runtime;

/// <summary>
/// A write was refused because this replica cannot prove it still holds the Lease. It is an
/// <see cref="OperationCanceledException"/> on purpose: the term that made the decision is over
/// (the fence cancelled it before throwing), and every path that lets cancellation through —
/// reconcilers, the prober, the controller — must let this through too, never retry it.
/// </summary>
internal sealed class NotLeaderException(string message, CancellationToken token) : OperationCanceledException(message, token);

/// <summary>
/// Fencing for the leader's writes. The elector reports each successful acquire or renew (the
/// monotonic time at which that attempt started); a write is allowed only while less than
/// RenewDeadline has passed since then. Monotonic (<see cref="TimeProvider.GetTimestamp"/>, a
/// Stopwatch), so a process frozen by SIGSTOP or a long GC pause wakes up past the deadline and is
/// refused before its first write, even before its renew loop notices the lease is gone. The
/// deadline (10 s) is below the lease duration (15 s) that other replicas wait before taking over,
/// which is the margin for clock rate differences and the request in flight.
/// Without leader election (<see cref="Unfenced"/>) writes are always allowed.
/// </summary>
internal sealed class LeaseFence
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _renewDeadline;
    private readonly bool _fenced;
    private readonly Lock _lock = new();
    private bool _held;
    private long _renewedAt;
    private CancellationTokenSource? _term;

    public LeaseFence(TimeProvider time, TimeSpan renewDeadline) : this(time, renewDeadline, fenced: true) { }

    private LeaseFence(TimeProvider time, TimeSpan renewDeadline, bool fenced)
    {
        _time = time;
        _renewDeadline = renewDeadline;
        _fenced = fenced;
    }

    /// <summary>A fence that is always held: the operator runs without leader election.</summary>
    public static LeaseFence Unfenced { get; } = new(TimeProvider.System, Timeout.InfiniteTimeSpan, fenced: false);

    public TimeSpan RenewDeadline => _renewDeadline;

    /// <summary>Whether a write may go out now.</summary>
    public bool IsHeld
    {
        get
        {
            if (!_fenced) return true;
            lock (_lock) return _held && _time.GetElapsedTime(_renewedAt) < _renewDeadline;
        }
    }

    /// <summary>
    /// Call right before a write's HTTP request, after every await of the decision. When the lease is
    /// not provably held, cancels the term (so its workers stop) and throws <see cref="NotLeaderException"/>.
    /// </summary>
    public void EnsureHeld()
    {
        if (!_fenced) return;
        CancellationTokenSource? term;
        TimeSpan since;
        lock (_lock)
        {
            since = _time.GetElapsedTime(_renewedAt);
            if (_held && since < _renewDeadline) return;
            _held = false;
            term = _term;
        }
        var token = CancellationToken.None;
        try
        {
            token = term?.Token ?? CancellationToken.None;
            term?.Cancel();
        }
        catch (ObjectDisposedException) { /* the term ended already */ }
        throw new NotLeaderException(term is null
            ? "not the leader: the lease is not held"
            : $"not the leader: the lease was last renewed {since.TotalSeconds:0.0}s ago, " +
                $"beyond the renew deadline of {_renewDeadline.TotalSeconds:0.#}s", token);
    }

    /// <summary>
    /// The elector acquired the lease with an attempt started at <paramref name="startedAt"/>;
    /// <paramref name="term"/> is cancelled when a write is refused.
    /// </summary>
    public void Acquired(long startedAt, CancellationTokenSource term)
    {
        lock (_lock)
        {
            _term = term;
            _held = true;
            _renewedAt = startedAt;
        }
    }

    /// <summary>A renewal that started at <paramref name="startedAt"/> succeeded.</summary>
    public void Renewed(long startedAt)
    {
        lock (_lock)
        {
            if (_term is null) return;
            _held = true;
            if (startedAt > _renewedAt) _renewedAt = startedAt;
        }
    }

    /// <summary>The term ended (lost, released, or stepped down): nothing is written until the next acquire.</summary>
    public void Lost()
    {
        lock (_lock)
        {
            _held = false;
            _term = null;
        }
    }
}
