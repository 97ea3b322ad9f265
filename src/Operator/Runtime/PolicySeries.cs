using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace ResilienceOperator.Runtime;

/// <summary>
/// A metric family with a series per policy (labels namespace and policy, and optionally one
/// more), kept compactly and exported on /metrics after the registry's families
/// (<see cref="PolicySeriesExport"/>). A labelled series of the metrics library costs about
/// 700 bytes; the families every policy has (ten series each) were the largest part of the memory
/// a policy costs. Here a series is one dictionary entry holding its value, and its label values
/// are the strings the caller already holds (the policy's key).
/// </summary>
internal sealed class PolicySeries
{
    private readonly ConcurrentDictionary<(string Namespace, string Policy, string Extra), double> _series = new();
    private readonly string? _extraLabel;

    /// <param name="name">The family's name.</param>
    /// <param name="help">Its help text.</param>
    /// <param name="counter">A counter (only ever incremented) instead of a gauge.</param>
    /// <param name="extraLabel">A third label after namespace and policy, e.g. target or result.</param>
    public PolicySeries(string name, string help, bool counter = false, string? extraLabel = null)
    {
        Name = name;
        Help = help;
        IsCounter = counter;
        _extraLabel = extraLabel;
        PolicySeriesExport.Register(this);
    }

    public string Name { get; }
    public string Help { get; }
    public bool IsCounter { get; }

    /// <summary>How many series the family has.</summary>
    public int Count => _series.Count;

    public void Set(string ns, string policy, double value) => Set(ns, policy, "", value);

    public void Set(string ns, string policy, string extra, double value)
    {
        if (IsCounter) throw new InvalidOperationException($"{Name} is a counter: it is only incremented");
        _series[Key(ns, policy, extra)] = value;
    }

    public void Inc(string ns, string policy, string extra = "") =>
        _series.AddOrUpdate(Key(ns, policy, extra), 1, static (_, seen) => seen + 1);

    /// <summary>The series' value, or null when there is no such series.</summary>
    public double? Value(string ns, string policy, string extra = "") =>
        _series.TryGetValue((ns, policy, extra), out var value) ? value : null;

    public void Remove(string ns, string policy, string extra = "") => _series.TryRemove((ns, policy, extra), out _);

    /// <summary>Every series of the policy (any third label value).</summary>
    public void RemovePolicy(string ns, string policy)
    {
        if (_extraLabel is null) { Remove(ns, policy); return; }
        foreach (var key in _series.Keys)
            if (key.Namespace == ns && key.Policy == policy) _series.TryRemove(key, out _);
    }

    private (string, string, string) Key(string ns, string policy, string extra)
    {
        if ((_extraLabel is null) != (extra.Length == 0))
            throw new ArgumentException(_extraLabel is null ? $"{Name} has no third label" : $"{Name} needs a {_extraLabel}", nameof(extra));
        return (ns, policy, extra);
    }

    /// <summary>The family in the Prometheus text format (version 0.0.4), written in pieces of about 32 KiB.</summary>
    public async Task WriteAsync(TextWriter to, CancellationToken ct)
    {
        var text = new StringBuilder();
        text.Append("# HELP ").Append(Name).Append(' ').Append(Help.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        text.Append("# TYPE ").Append(Name).Append(IsCounter ? " counter\n" : " gauge\n");
        foreach (var (key, value) in _series)
        {
            text.Append(Name).Append("{namespace=\"");
            Escape(text, key.Namespace).Append("\",policy=\"");
            Escape(text, key.Policy).Append('"');
            if (_extraLabel is not null)
            {
                text.Append(',').Append(_extraLabel).Append("=\"");
                Escape(text, key.Extra).Append('"');
            }
            text.Append("} ").Append(Format(value)).Append('\n');
            if (text.Length < 32 * 1024) continue;
            await to.WriteAsync(text, ct);
            text.Clear();
        }
        await to.WriteAsync(text, ct);
    }

    private static StringBuilder Escape(StringBuilder text, string value)
    {
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => text.Append("\\\\"),
                '"' => text.Append("\\\""),
                '\n' => text.Append("\\n"),
                _ => text.Append(c),
            };
        }
        return text;
    }

    internal static string Format(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>/metrics: the metrics library's registry, then every <see cref="PolicySeries"/> family.</summary>
internal static class PolicySeriesExport
{
    private static readonly ConcurrentDictionary<string, PolicySeries> Families = new(StringComparer.Ordinal);

    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    internal static void Register(PolicySeries family)
    {
        if (!Families.TryAdd(family.Name, family)) throw new InvalidOperationException($"metric family {family.Name} exists twice");
    }

    /// <summary>The whole exposition in the Prometheus text format.</summary>
    public static async Task WriteAsync(Stream to, CancellationToken ct)
    {
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(to, Prometheus.ExpositionFormat.PrometheusText, ct);
        await using var writer = new StreamWriter(to, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
        foreach (var family in Families.Values.OrderBy(f => f.Name, StringComparer.Ordinal)) await family.WriteAsync(writer, ct);
        await writer.FlushAsync(ct);
    }

    /// <summary>The exposition as a string (tests, diagnostics).</summary>
    public static async Task<string> TextAsync(CancellationToken ct = default)
    {
        using var stream = new MemoryStream();
        await WriteAsync(stream, ct);
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
