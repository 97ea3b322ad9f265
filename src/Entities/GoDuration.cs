using System.Globalization;
using System.Text.RegularExpressions;

namespace ResilienceOperator.Entities;

/// <summary>Durations as the API writes them (Go's and Kubernetes' form): `500ms`, `5s`, `2m`, `1h30m`.</summary>
public static partial class GoDuration
{
    [GeneratedRegex(@"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")]
    private static partial Regex Part();

    /// <summary>Parses a duration of one or more number-unit parts (ms, s, m, h); false for anything else or an empty text.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var pos = 0;
        foreach (Match m in Part().Matches(text))
        {
            if (m.Index != pos) return false;
            pos += m.Length;
            var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            value += m.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                _ => TimeSpan.FromHours(n),
            };
        }
        return pos == text.Length && pos > 0;
    }

    /// <summary>A short form for messages: milliseconds below 1 s, seconds below 2 min, else minutes.</summary>
    public static string Format(TimeSpan d) =>
        d.TotalSeconds < 1 ? $"{d.TotalMilliseconds:0}ms" : d.TotalMinutes < 2 ? $"{d.TotalSeconds:0.#}s" : $"{d.TotalMinutes:0.#}m";
}
