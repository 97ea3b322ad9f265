namespace ResilienceOperator.Entities;

/// <summary>Short names for `kubectl get` (for example `rp`).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ShortNamesAttribute(params string[] names) : Attribute
{
    /// <summary>The short names.</summary>
    public IReadOnlyList<string> Names { get; } = names;
}

/// <summary>Categories the kind belongs to (`kubectl get resilience`).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class CategoriesAttribute(params string[] categories) : Attribute
{
    /// <summary>The categories.</summary>
    public IReadOnlyList<string> Categories { get; } = categories;
}

/// <summary>An additional printer column shown by `kubectl get`.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class PrinterColumnAttribute(string name, string type, string jsonPath) : Attribute
{
    /// <summary>Column header.</summary>
    public string Name { get; } = name;
    /// <summary>OpenAPI type of the column (string, integer, number, boolean, date).</summary>
    public string Type { get; } = type;
    /// <summary>JSONPath into the object.</summary>
    public string JsonPath { get; } = jsonPath;
    /// <summary>What the column shows.</summary>
    public string? Description { get; init; }
    /// <summary>0 shows in `kubectl get`; higher only with `-o wide`.</summary>
    public int Priority { get; init; }
}

/// <summary>A value the API server fills in when the field is absent.</summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class SchemaDefaultAttribute(object value) : Attribute
{
    /// <summary>The default.</summary>
    public object Value { get; } = value;
}

/// <summary>A string field that must match a regular expression (OpenAPI `pattern`).</summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class SchemaPatternAttribute(string pattern) : Attribute
{
    /// <summary>ECMA-262 regular expression.</summary>
    public string Pattern { get; } = pattern;
}

/// <summary>Inclusive numeric bounds (OpenAPI `minimum`/`maximum`).</summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class SchemaRangeAttribute(double minimum, double maximum) : Attribute
{
    /// <summary>Lowest allowed value.</summary>
    public double Minimum { get; } = minimum;
    /// <summary>Highest allowed value.</summary>
    public double Maximum { get; } = maximum;
}

/// <summary>Length bounds for strings or item counts for lists.</summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class SchemaLengthAttribute(int minimum, int maximum = int.MaxValue) : Attribute
{
    /// <summary>Minimum length or item count.</summary>
    public int Minimum { get; } = minimum;
    /// <summary>Maximum length or item count; int.MaxValue means none.</summary>
    public int Maximum { get; } = maximum;
}

/// <summary>The field must be present.</summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class SchemaRequiredAttribute : Attribute;

/// <summary>The field holds an embedded Kubernetes object kept as is (`x-kubernetes-preserve-unknown-fields`).</summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class PreserveUnknownFieldsAttribute : Attribute;

/// <summary>Durations in Go/Kubernetes notation: `500ms`, `5s`, `2m`, `1h30m`.</summary>
public static class DurationFormat
{
    /// <summary>The pattern the API server enforces.</summary>
    public const string Pattern = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$";
}

/// <summary>
/// A list of objects that is a map keyed by the given fields (`x-kubernetes-list-type: map`): the
/// API server rejects two items with the same key, and server-side apply merges items by key.
/// Every key field must be required.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class ListMapAttribute(params string[] keys) : Attribute
{
    /// <summary>The key fields (`x-kubernetes-list-map-keys`).</summary>
    public IReadOnlyList<string> Keys { get; } = keys;
}

/// <summary>A list of scalars without duplicates (`x-kubernetes-list-type: set`).</summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class ListSetAttribute : Attribute;
