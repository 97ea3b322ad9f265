namespace ResilienceOperator.Notifications;

/// <summary>Queueing, retry and circuit-breaker settings of the <see cref="Notifier"/>.</summary>
internal sealed record NotifierOptions
{
    /// <summary>Events waiting per webhook URL; when full the oldest is dropped.</summary>
    public int QueueCapacity { get; init; } = 1000;

    /// <summary>HTTP attempts per event and webhook, the first included. Waiting on an open circuit is not an attempt.</summary>
    public int MaxAttempts { get; init; } = 6;

    /// <summary>First retry delay; doubles per attempt, with jitter.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of one retry delay (also caps a server's <c>Retry-After</c>).</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Timeout of one HTTP attempt.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Share of failed attempts within <see cref="SamplingDuration"/> that opens a webhook's circuit.</summary>
    public double FailureRatio { get; init; } = 0.5;

    /// <summary>Attempts within <see cref="SamplingDuration"/> before the circuit may open (at least 2).</summary>
    public int MinimumThroughput { get; init; } = 5;

    /// <summary>Window over which the failure ratio is measured (at least 500ms).</summary>
    public TimeSpan SamplingDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open circuit stays open before one trial attempt (at least 500ms).</summary>
    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(30);
}
