using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Hosting;

/// <summary>What the readiness check reads of the running operator (<see cref="OperatorHost"/>).</summary>
internal interface IOperatorState
{
    bool CachesSynced { get; }
    bool IsLeading { get; }
    IReadOnlyList<IQueueProgress> Queues { get; }
}

/// <summary>
/// Ready: every cache has listed, and — while this replica leads and so works the queues — no
/// queue is stalled: a queue is stalled when its oldest waiting item has waited longer than the
/// stall timeout and no item of it was done in that time (workers hung, e.g. on a call that never
/// returns). A standby replica is ready once synced: it has no queue to work.
/// </summary>
internal sealed class ReadinessCheck(IOperatorState state, TimeSpan stallTimeout, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check());

    public HealthCheckResult Check()
    {
        if (!state.CachesSynced) return HealthCheckResult.Unhealthy("caches not synced");
        if (!state.IsLeading) return HealthCheckResult.Healthy("caches synced; not leading");
        var now = time.GetUtcNow();
        var stalled = new List<string>();
        foreach (var q in state.Queues)
        {
            if (q.OldestWaitingSince is not { } oldest || now - oldest <= stallTimeout) continue;
            if (q.LastDoneAt is { } done && now - done <= stallTimeout) continue;
            var last = q.LastDoneAt is { } d ? $"last item done {Seconds(now - d)} ago" : "no item done yet";
            stalled.Add($"work queue {q.Name} stalled: oldest item waiting for {Seconds(now - oldest)}, {last}");
        }
        return stalled.Count == 0 ? HealthCheckResult.Healthy("caches synced; work queues progressing")
            : HealthCheckResult.Unhealthy(string.Join("; ", stalled));
    }

    private static string Seconds(TimeSpan t) => $"{t.TotalSeconds:0}s";
}

/// <summary>/healthz and /readyz through ASP.NET Core health checks, answering <c>{"status": ..., "reason": ...}</c>.</summary>
internal static class OperatorHealthChecks
{
    private const string Live = "live";
    private const string Ready = "ready";

    /// <summary>
    /// Liveness only says the process answers: it never depends on the API server (an API server
    /// outage must not restart every operator). Readiness is <see cref="ReadinessCheck"/>.
    /// </summary>
    public static IServiceCollection AddOperatorHealthChecks(this IServiceCollection services, Func<IServiceProvider, ReadinessCheck> readiness)
    {
        services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy("process answers"), [Live])
            .Add(new HealthCheckRegistration("operator", readiness, failureStatus: HealthStatus.Unhealthy, tags: [Ready]));
        return services;
    }

    public static IEndpointRouteBuilder MapOperatorHealthChecks(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = r => r.Tags.Contains(Live), ResponseWriter = WriteAsync });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = r => r.Tags.Contains(Ready), ResponseWriter = WriteAsync });
        return app;
    }

    /// <summary>The response body: the overall status and, unless healthy, why.</summary>
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var reason = string.Join("; ", report.Entries.Values
            .Where(e => e.Status != HealthStatus.Healthy)
            .Select(e => e.Description ?? e.Exception?.Message ?? e.Status.ToString()));
        var body = new Dictionary<string, string> { ["status"] = report.Status.ToString() };
        if (reason.Length > 0) body["reason"] = reason;
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, BodyContext.Default.DictionaryStringString));
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class BodyContext : System.Text.Json.Serialization.JsonSerializerContext;
