using System.Globalization;

namespace ResilienceOperator.Planning;

/// <summary>
/// Measured figures in event, condition and notification messages: culture-invariant, and in words
/// when a figure is unknown, so a message never reads "detected in s".
/// </summary>
internal static class Figures
{
    /// <summary>`2.5s`, or <paramref name="unknown"/> when there is no figure.</summary>
    public static string Seconds(double? seconds, string unknown) =>
        seconds is { } s ? s.ToString("0.###", CultureInfo.InvariantCulture) + "s" : unknown;

    /// <summary>`detected in 2.1s, switched 0.05s after detection`, each part in words when unknown.</summary>
    public static string FailoverTimes(double? detectionSeconds, double? switchSeconds) =>
        (detectionSeconds is { } d ? $"detected in {Seconds(d, "")}" : "detection time unknown") + ", "
        + (switchSeconds is { } s ? $"switched {Seconds(s, "")} after detection" : "switch time unknown");
}
