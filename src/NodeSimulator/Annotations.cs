using ResilienceOperator.Entities;

namespace ResilienceOperator.NodeSimulator;

/// <summary>The annotations that steer the simulator.</summary>
public static class Annotations
{
    /// <summary>
    /// On a Deployment: unready, http-fail, crash or hang (pods stay ready, their ports accept
    /// connections and never answer), applied to the pods it selects.
    /// </summary>
    public const string Fault = "sim.resilience.dev/fault";
    /// <summary>On a Job pod (template): how long it runs, as a Go duration (default 1s).</summary>
    public const string Duration = "sim.resilience.dev/duration";
    /// <summary>On a Job pod (template): its exit code (default 0).</summary>
    public const string ExitCode = "sim.resilience.dev/exit-code";

    internal static TimeSpan ParseDuration(string? text, TimeSpan fallback) => GoDuration.TryParse(text, out var d) ? d : fallback;
}
