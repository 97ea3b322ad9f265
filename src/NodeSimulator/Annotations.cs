using System.Globalization;
using System.Text.RegularExpressions;

namespace ResilienceOperator.NodeSimulator;

/// <summary>The annotations that steer the simulator.</summary>
public static partial class Annotations
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

    [GeneratedRegex(@"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")]
    private static partial Regex DurationPart();

    internal static TimeSpan ParseDuration(string? text, TimeSpan fallback)
    {
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        var total = TimeSpan.Zero;
        var pos = 0;
        foreach (Match m in DurationPart().Matches(text))
        {
            if (m.Index != pos) return fallback;
            pos += m.Length;
            var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                _ => TimeSpan.FromHours(n),
            };
        }
        return pos == text.Length ? total : fallback;
    }
}
