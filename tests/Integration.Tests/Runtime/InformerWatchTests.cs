using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using ResilienceOperator.IntegrationTests.Harness;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.IntegrationTests.Runtime;

/// <summary>The operator's informer against the real API server, through the operator's own client.</summary>
[Collection("cluster")]
public sealed class InformerWatchTests(ClusterFixture cluster)
{
    [Fact(Timeout = TestDeadline.Default)]
    public async Task QuietWatch_EndsAtItsTimeout_WatchedAgainWithoutErrorOrRelist()
    {
        var ns = await cluster.CreateNamespaceAsync("informer-quiet");
        using var client = ApiClient.Create(KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.KubeconfigPath));
        var log = new WarningLog();
        // A short server-side watch timeout: the API server ends each quiet watch after 2 s.
        var informer = new Informer<V1Job>("jobs", ListWatches.Jobs(client), [ns], log, watchTimeout: TimeSpan.FromSeconds(2));
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        try
        {
            await ClusterFixture.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref informer.WatchCalls) >= 4 || log.Warnings.Count > 0),
                TimeSpan.FromSeconds(60), "four watches, or a warning");
        }
        finally
        {
            await cts.CancelAsync();
            await run;
        }
        Assert.True(log.Warnings.Count == 0, string.Join("\n", log.Warnings));
        Assert.Equal(1, informer.ListCalls);
    }

    private sealed class WarningLog : ILogger
    {
        public List<string> Warnings { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Warning) lock (Warnings) Warnings.Add(formatter(state, exception));
        }
    }
}
