using System.Globalization;
using System.Text.RegularExpressions;

namespace ResilienceOperator.Runtime;

/// <summary>
/// A Kubernetes label selector in its string form (apimachinery's <c>labels.Parse</c>), the one a
/// LIST or WATCH takes as <c>labelSelector</c>: requirements separated by commas, each one of
/// <c>key</c>, <c>!key</c>, <c>key=value</c>, <c>key==value</c>, <c>key!=value</c>,
/// <c>key in (a,b)</c>, <c>key notin (a,b)</c>, <c>key&gt;1</c>, <c>key&lt;1</c>. Parsed here so that a
/// bad one is refused at start-up with a message, and so that the operator can tell which objects
/// the API server would send it (<see cref="Matches"/>) without asking.
/// </summary>
internal sealed partial class LabelSelector
{
    private enum Op { Exists, DoesNotExist, Equals, NotEquals, In, NotIn, GreaterThan, LessThan }

    private sealed record Requirement(string Key, Op Op, IReadOnlyList<string> Values);

    private readonly IReadOnlyList<Requirement> _requirements;

    private LabelSelector(string text, IReadOnlyList<Requirement> requirements)
    {
        Text = text;
        _requirements = requirements;
    }

    /// <summary>Selects every object (the empty selector).</summary>
    public static LabelSelector Everything { get; } = new("", []);

    /// <summary>The selector as given, trimmed: what goes to the API server.</summary>
    public string Text { get; }

    /// <summary>True for the empty selector: nothing is filtered.</summary>
    public bool IsEverything => _requirements.Count == 0;

    public override string ToString() => Text;

    /// <summary>Whether an object with these labels is selected.</summary>
    public bool Matches(IDictionary<string, string>? labels)
    {
        foreach (var r in _requirements)
        {
            string? value = null;
            var has = labels is not null && labels.TryGetValue(r.Key, out value);
            var ok = r.Op switch
            {
                Op.Exists => has,
                Op.DoesNotExist => !has,
                Op.Equals or Op.In => has && r.Values.Contains(value!, StringComparer.Ordinal),
                Op.NotEquals or Op.NotIn => !has || !r.Values.Contains(value!, StringComparer.Ordinal),
                Op.GreaterThan => has && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var g)
                    && g > long.Parse(r.Values[0], CultureInfo.InvariantCulture),
                Op.LessThan => has && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
                    && l < long.Parse(r.Values[0], CultureInfo.InvariantCulture),
                _ => false,
            };
            if (!ok) return false;
        }
        return true;
    }

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong and where.</summary>
    public static bool TryParse(string? text, out LabelSelector selector, out string? error)
    {
        selector = Everything;
        error = null;
        var s = (text ?? "").Trim();
        if (s.Length == 0) return true;
        var requirements = new List<Requirement>();
        var i = 0;
        while (true)
        {
            SkipSpace(s, ref i);
            var negated = i < s.Length && s[i] == '!';
            if (negated) { i++; SkipSpace(s, ref i); }
            var key = Word(s, ref i);
            if (key.Length == 0) return Fail(out error, $"a label key is expected at position {i + 1}");
            if (KeyError(key) is { } keyError) return Fail(out error, keyError);
            SkipSpace(s, ref i);
            Requirement r;
            if (negated)
                r = new Requirement(key, Op.DoesNotExist, []);
            else if (i >= s.Length || s[i] == ',')
                r = new Requirement(key, Op.Exists, []);
            else if (Take(s, ref i, "==") || Take(s, ref i, "=") || Take(s, ref i, "!="))
            {
                var op = s[i - 2] == '!' ? Op.NotEquals : Op.Equals;
                SkipSpace(s, ref i);
                var value = Word(s, ref i);
                if (ValueError(value) is { } valueError) return Fail(out error, valueError);
                r = new Requirement(key, op, [value]);
            }
            else if (s[i] is '>' or '<')
            {
                var op = s[i] == '>' ? Op.GreaterThan : Op.LessThan;
                i++;
                SkipSpace(s, ref i);
                var value = Word(s, ref i);
                if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                    return Fail(out error, $"'{key}{(op == Op.GreaterThan ? ">" : "<")}' needs a whole number, not '{value}'");
                r = new Requirement(key, op, [value]);
            }
            else
            {
                var word = Word(s, ref i);
                if (word is not ("in" or "notin"))
                    return Fail(out error, $"after '{key}' expected =, ==, !=, in, notin, > or <, not '{(word.Length > 0 ? word : s[i..])}'");
                SkipSpace(s, ref i);
                if (!Take(s, ref i, "(")) return Fail(out error, $"'{key} {word}' needs a list in parentheses, e.g. {key} {word} (a,b)");
                var values = new List<string>();
                while (true)
                {
                    SkipSpace(s, ref i);
                    var value = Word(s, ref i);
                    if (ValueError(value) is { } valueError) return Fail(out error, valueError);
                    values.Add(value);
                    SkipSpace(s, ref i);
                    if (Take(s, ref i, ")")) break;
                    if (!Take(s, ref i, ",")) return Fail(out error, $"the list of '{key} {word}' is not closed with ')'");
                }
                r = new Requirement(key, word == "in" ? Op.In : Op.NotIn, values);
            }
            requirements.Add(r);
            SkipSpace(s, ref i);
            if (i >= s.Length) break;
            if (!Take(s, ref i, ",")) return Fail(out error, $"expected ',' between requirements at position {i + 1}, not '{s[i..]}'");
        }
        selector = new LabelSelector(s, requirements);
        return true;
    }

    private static bool Fail(out string? error, string message)
    {
        error = message;
        return false;
    }

    private static void SkipSpace(string s, ref int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
    }

    private static bool Take(string s, ref int i, string token)
    {
        if (string.CompareOrdinal(s, i, token, 0, token.Length) != 0) return false;
        i += token.Length;
        return true;
    }

    /// <summary>A key or value: everything up to a space, an operator, a comma or a parenthesis.</summary>
    private static string Word(string s, ref int i)
    {
        var start = i;
        while (i < s.Length && !char.IsWhiteSpace(s[i]) && s[i] is not (',' or '=' or '!' or '(' or ')' or '<' or '>')) i++;
        return s[start..i];
    }

    [GeneratedRegex("^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")]
    private static partial Regex NamePart();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();

    /// <summary>A qualified name: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters.</summary>
    private static string? KeyError(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var (prefix, name) = slash < 0 ? ("", key) : (key[..slash], key[(slash + 1)..]);
        if (slash >= 0 && (prefix.Length is 0 or > 253 || !DnsSubdomain().IsMatch(prefix)))
            return $"label key '{key}': the prefix before '/' must be a DNS subdomain (lower case, e.g. resilience.dev)";
        if (name.Length is 0 or > 63 || !NamePart().IsMatch(name))
            return $"label key '{key}': the name must be 1 to 63 characters of letters, digits, '-', '_' or '.', " +
                "starting and ending with a letter or digit";
        return null;
    }

    private static string? ValueError(string value) => value.Length > 63 || !NamePart().IsMatch(value)
        ? $"label value '{value}' must be at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        : null;
}
