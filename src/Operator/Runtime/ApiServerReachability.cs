namespace ResilienceOperator.Runtime;

/// <summary>
/// Word, shared by the informers and the leader elector, that the API server answers again.
/// While it is unreachable every informer backs off, up to 30 s between tries; without this, a
/// cache could stay up to 30 s behind after the API server's return (the leader elector retries
/// every 2 s, so a new term would start acting on caches that were not watching yet). Once any
/// request is answered after a failure, every informer waiting out a backoff tries again at once
/// (its backoff is not reset: one that fails again waits longer).
/// </summary>
internal sealed class ApiServerReachability
{
    private TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _failing;

    /// <summary>A request failed (the server did not answer, or answered with an error).</summary>
    public void Failed() => Volatile.Write(ref _failing, 1);

    /// <summary>A request was answered: wakes every waiter, once per failure seen since the last answer.</summary>
    public void Answered()
    {
        if (Interlocked.Exchange(ref _failing, 0) == 0) return;
        var answered = Interlocked.Exchange(ref _answered, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        answered.TrySetResult();
    }

    /// <summary>Completes at the next <see cref="Answered"/> that follows a failure.</summary>
    public Task NextAnswer => Volatile.Read(ref _answered).Task;
}
