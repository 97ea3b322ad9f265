using k8s;
using Microsoft.Extensions.Logging;

namespace ResilienceOperator.IntegrationTests.Operator;

/// <summary>
/// The real operator, in-process, watching one test namespace through its own client. Stopping
/// it cancels everything as a SIGTERM would; starting another one is an operator restart.
/// </summary>
internal sealed class OperatorRunner : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly k8s.Kubernetes _client;
    private readonly OperatorHost _host;
    private readonly Task _run;

    private OperatorRunner(string kubeconfig, string ns, ILoggerFactory loggers, Action<OperatorOptions>? configure)
    {
        _client = Kubernetes.ApiClient.Create(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        var options = new OperatorOptions { Namespaces = [ns], Workers = 2, Port = 0 };
        configure?.Invoke(options);
        _host = new OperatorHost(_client, options, loggers);
        _run = Task.Run(() => _host.RunAsync(_stop.Token));
    }

    public static async Task<OperatorRunner> StartAsync(string kubeconfig, string ns, Action<OperatorOptions>? configure = null)
    {
        var runner = new OperatorRunner(kubeconfig, ns, TestLogging.Factory, configure);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!runner._host.IsLeading)
            {
                if (runner._run.IsFaulted) await runner._run;
                if (DateTime.UtcNow > deadline) throw new TimeoutException("operator did not sync its caches within 30 s");
                await Task.Delay(50);
            }
            return runner;
        }
        catch
        {
            // A failed start must not leave an operator running into later tests.
            await runner.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _run.WaitAsync(TimeSpan.FromSeconds(25)); }
        catch (OperationCanceledException) { }
        _host.Dispose();
        _client.Dispose();
        _stop.Dispose();
    }
}

/// <summary>Operator logs go to a file per run, so a failing test can be read afterwards.</summary>
internal static class TestLogging
{
    public static readonly string LogFile = Path.Combine(Path.GetTempPath(), $"resilience-operator-tests-{Environment.ProcessId}.log");

    public static readonly ILoggerFactory Factory = LoggerFactory.Create(b =>
    {
        b.SetMinimumLevel(LogLevel.Information);
        b.AddProvider(new FileLoggerProvider(LogFile));
    });

    private sealed class FileLoggerProvider(string path) : ILoggerProvider
    {
        private readonly StreamWriter _writer = new(path, append: true) { AutoFlush = true };
        private readonly Lock _lock = new();
        public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);
        public void Dispose() => _writer.Dispose();

        private sealed class FileLogger(FileLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner._lock) owner._writer.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
            }
        }
    }
}
