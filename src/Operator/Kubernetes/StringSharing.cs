using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using k8s.Models;

namespace ResilienceOperator.Kubernetes;

/// <summary>
/// Puts every string of an object's model graph through a <see cref="StringPool"/>: the policies'
/// specs and status repeat the same words in every policy (condition types, reasons and most
/// messages, durations, paths, kinds), 3 KiB a policy read as separate copies. Walks the
/// project's and the client's model types (properties, lists and string maps); metadata is left
/// to <see cref="CacheTransform"/>, which knows which of its strings are unique. A string that
/// names one of the object's own objects (its name, a target's) is its own: pooled, it would cost
/// the pool an entry and share nothing.
/// </summary>
internal static class StringSharing
{
    private sealed record Plan(PropertyInfo[] Strings, PropertyInfo[] Nested);

    private static readonly ConcurrentDictionary<Type, Plan> Plans = new();

    private static readonly Assembly[] ModelAssemblies = [typeof(V1Condition).Assembly, typeof(Entities.ResiliencePolicy).Assembly];

    /// <summary>Shares the strings of <paramref name="obj"/> except those that contain one of <paramref name="own"/>.</summary>
    public static void Share(object? obj, StringPool pool, IReadOnlyCollection<string> own)
    {
        switch (obj)
        {
            case null or string or V1ObjectMeta: return;
            case IDictionary<string, string> map:
                foreach (var (k, v) in map.ToList()) map[k] = Get(v, pool, own);
                return;
            case IList<string> list:
                for (var i = 0; i < list.Count; i++) list[i] = Get(list[i], pool, own);
                return;
            case IEnumerable items:
                foreach (var item in items) Share(item, pool, own);
                return;
        }
        var plan = Plans.GetOrAdd(obj.GetType(), MakePlan);
        foreach (var p in plan.Strings)
            if (p.GetValue(obj) is string s) p.SetValue(obj, Get(s, pool, own));
        foreach (var p in plan.Nested) Share(p.GetValue(obj), pool, own);
    }

    private static string Get(string s, StringPool pool, IReadOnlyCollection<string> own)
    {
        // A bookmark's object, or one without a spec, names nothing of its own.
        foreach (var name in own) if (!string.IsNullOrEmpty(name) && s.Contains(name, StringComparison.Ordinal)) return s;
        return pool.Get(s)!;
    }

    private static Plan MakePlan(Type type)
    {
        var props = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0).ToList();
        return new Plan(
            [.. props.Where(p => p.PropertyType == typeof(string) && p.CanRead && p.CanWrite)],
            [.. props.Where(p => p.CanRead && p.PropertyType != typeof(string) && IsModel(p.PropertyType))]);
    }

    /// <summary>A model class, or a list or map that may hold strings or models.</summary>
    private static bool IsModel(Type t)
    {
        if (t.IsValueType || t == typeof(V1ObjectMeta)) return false;
        if (ModelAssemblies.Contains(t.Assembly)) return true;
        return t.IsGenericType && typeof(IEnumerable).IsAssignableFrom(t) && t.GetGenericArguments().All(a => a == typeof(string) || IsModel(a));
    }
}
