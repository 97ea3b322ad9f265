using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using k8s.Models;

namespace ResilienceOperator.Kubernetes;

/// <summary>
/// The serializer options a LIST is decoded with: the client's own, minus the fields
/// <see cref="CacheTransform"/> drops from every object anyway, which are skipped over in the
/// bytes instead of being decoded into objects first. At 10,000 policies a start decodes about
/// 55,000 objects, and the skipped fields (every object's managedFields, a pod's spec and most of
/// its status) are most of their bytes.
/// <para>
/// Only fields that no cached object keeps are skipped, and only where the type cannot turn up
/// elsewhere in a cached object: a pod template (in a Deployment, or in a policy's backup or hook
/// Jobs) keeps its whole <see cref="V1PodSpec"/>, so a pod's spec is skipped through the pod's
/// own <c>spec</c> property, not through its type.
/// </para>
/// </summary>
internal static class TrimmedDecoding
{
    public static JsonSerializerOptions Options { get; } = Make();

    private static JsonSerializerOptions Make()
    {
        var options = new JsonSerializerOptions(StreamingList.ClientOptions);
        options.TypeInfoResolver = (options.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(Skip);
        options.MakeReadOnly();
        return options;
    }

    /// <summary>Each type's JSON properties that <see cref="CacheTransform.Apply{T}"/> keeps (null: all of them).</summary>
    private static string[]? Kept(Type type) =>
        type == typeof(V1PodStatus) ? ["podIP", "conditions"]
        : type == typeof(V1ServiceSpec) ? ["selector"]
        : type == typeof(V1ServiceStatus) ? []
        : null;

    private static void Skip(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        if (info.Type == typeof(V1ObjectMeta)) Remove(info, p => p.Name == "managedFields");
        else if (info.Type == typeof(V1DeploymentStatus) || info.Type == typeof(V1StatefulSetStatus)) Remove(info, p => p.Name == "conditions");
        else if (info.Type == typeof(V1Pod))
        {
            foreach (var p in info.Properties)
                if (p.Name == "spec") p.CustomConverter = PodSpecGates.Instance;
        }
        else if (Kept(info.Type) is { } kept) Remove(info, p => !kept.Contains(p.Name));
    }

    private static void Remove(JsonTypeInfo info, Func<JsonPropertyInfo, bool> skipped)
    {
        for (var i = info.Properties.Count - 1; i >= 0; i--)
            if (skipped(info.Properties[i])) info.Properties.RemoveAt(i);
    }

    /// <summary>A pod's spec, of which the cache keeps only the readiness gates (<see cref="CacheTransform"/>'s TrimPod).</summary>
    private sealed class PodSpecGates : JsonConverter<V1PodSpec>
    {
        public static readonly PodSpecGates Instance = new();

        public override V1PodSpec? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Null) return null;
            if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException($"a pod's spec is a JSON object, not {reader.TokenType}");
            IList<V1PodReadinessGate>? gates = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var isGates = reader.ValueTextEquals("readinessGates"u8);
                reader.Read();
                if (isGates) gates = JsonSerializer.Deserialize<List<V1PodReadinessGate>>(ref reader, options);
                else reader.Skip();
            }
            return new V1PodSpec { Containers = Array.Empty<V1Container>(), ReadinessGates = gates };
        }

        public override void Write(Utf8JsonWriter writer, V1PodSpec value, JsonSerializerOptions options) =>
            throw new NotSupportedException("list decoding only reads");
    }
}
