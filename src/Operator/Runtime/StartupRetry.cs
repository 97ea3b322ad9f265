using System.Net;
using k8s.Autorest;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace ResilienceOperator.Runtime;

/// <summary>
/// The API calls made once at start-up (which API versions the server serves) wait for an API
/// server that is down or restarting instead of ending the process: a pod that crashes there
/// goes into CrashLoopBackOff, whose back-off outlasts the outage. Connection errors, timeouts,
/// 429 and 5xx are retried with jittered exponential back-off up to 10 s between tries; any
/// other answer is the server's and goes to the caller.
/// </summary>
internal static class StartupRetry
{
    public static async Task<T> UntilAnsweredAsync<T>(
        string what, Func<CancellationToken, Task<T>> call, ILogger logger, CancellationToken ct, TimeProvider? time = null)
    {
        string? lastError = null;
        var pipeline = new ResiliencePipelineBuilder<T> { TimeProvider = time ?? TimeProvider.System }
            .AddRetry(new RetryStrategyOptions<T>
            {
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(10),
                ShouldHandle = new PredicateBuilder<T>().Handle<Exception>(ex => Transient(ex, ct)),
                OnRetry = args =>
                {
                    // Once per distinct error, not once per try.
                    var error = args.Outcome.Exception?.Message;
                    if (error != lastError) logger.LogWarning("{What}: the API server does not answer ({Error}); retrying", what, error);
                    lastError = error;
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        return await pipeline.ExecuteAsync(async token => await call(token), ct);
    }

    private static bool Transient(Exception ex, CancellationToken ct) => ex switch
    {
        OperationCanceledException => !ct.IsCancellationRequested,
        HttpRequestException or IOException => true,
        HttpOperationException { Response.StatusCode: var code } => code is HttpStatusCode.TooManyRequests || (int)code >= 500,
        _ => false,
    };
}
