using System.Buffers;
using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Kubernetes;

/// <summary>
/// A LIST read as a stream: each item is decoded and trimmed by the cache transform as soon as its
/// bytes have arrived, so neither the response nor its untrimmed objects are ever held whole. The
/// client's own list calls read the whole response into one buffer (several MiB for a page of 500
/// Deployments, more for an unpaginated list) and decode every item of it before the first one is
/// trimmed. The request goes through the client's own HTTP pipeline and credentials.
/// </summary>
internal static class StreamingList
{
    /// <summary>The client's serializer options (its converters for dates, quantities, int-or-string…), read once.</summary>
    internal static JsonSerializerOptions ClientOptions { get; } = GetClientOptions();

    private static JsonSerializerOptions GetClientOptions()
    {
        JsonSerializerOptions? options = null;
        KubernetesJson.AddJsonOptions(o => options = o); // hands over the client's options instance, changing nothing
        return options ?? throw new InvalidOperationException("the client gave no serializer options");
    }

    /// <summary>
    /// GET <paramref name="path"/> (e.g. <c>apis/apps/v1/namespaces/ns/deployments</c>) with the
    /// list query, decoding the items one by one through <paramref name="each"/>. A response other
    /// than 200 throws the client's <see cref="HttpOperationException"/>, carrying the Status body
    /// (410 for an expired continue token included), as the client's own calls do.
    /// </summary>
    public static async Task<ListPage<T>> GetAsync<T>(IKubernetes client, string path, string? labelSelector, ListQuery query, Func<T, T> each,
        JsonSerializerOptions options, CancellationToken ct)
        where T : class
    {
        var k = client as k8s.Kubernetes ?? throw new ArgumentException("a list is read through k8s.Kubernetes", nameof(client));
        var uri = new Uri(k.BaseUri.AbsoluteUri.TrimEnd('/') + "/" + path + QueryString(labelSelector, query));
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (k.Credentials is not null) await k.Credentials.ProcessHttpRequestAsync(request, ct);
        using var response = await k.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var content = await response.Content.ReadAsStringAsync(ct);
            throw new HttpOperationException($"Operation returned an invalid status code '{response.StatusCode}', response body {content}")
            {
                Request = new HttpRequestMessageWrapper(request, null),
                Response = new HttpResponseMessageWrapper(response, content),
            };
        }
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        return await ReadAsync(stream, each, ct, options: options);
    }

    /// <summary>The query string of one LIST request.</summary>
    internal static string QueryString(string? labelSelector, ListQuery query)
    {
        var parts = new List<string>(4);
        if (!string.IsNullOrEmpty(labelSelector)) parts.Add("labelSelector=" + Uri.EscapeDataString(labelSelector));
        if (query.Limit is { } limit) parts.Add("limit=" + limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(query.Continue)) parts.Add("continue=" + Uri.EscapeDataString(query.Continue));
        if (!string.IsNullOrEmpty(query.ResourceVersion)) parts.Add("resourceVersion=" + Uri.EscapeDataString(query.ResourceVersion));
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    /// <summary>Decodes a list (<c>{"metadata":{…},"items":[…]}</c>) from <paramref name="stream"/>, item by item.</summary>
    internal static async Task<ListPage<T>> ReadAsync<T>(Stream stream, Func<T, T> each, CancellationToken ct, int initialBuffer = 64 * 1024,
        JsonSerializerOptions? options = null)
        where T : class
    {
        var decoder = new Decoder<T>(each, options ?? ClientOptions);
        var buffer = ArrayPool<byte>.Shared.Rent(initialBuffer);
        var filled = 0;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                {
                    // One value larger than the buffer: grow it, keeping what it holds.
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await stream.ReadAsync(buffer.AsMemory(filled), ct);
                filled += read;
                var final = read == 0;
                var consumed = decoder.Decode(buffer.AsSpan(0, filled), final);
                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
                if (final) break;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (!decoder.Done) throw new JsonException("the list response ended before the list did");
        return new ListPage<T>(decoder.Items, decoder.Metadata?.ResourceVersion ?? "",
            string.IsNullOrEmpty(decoder.Metadata?.ContinueProperty) ? null : decoder.Metadata.ContinueProperty);
    }

    /// <summary>Where the decoder stands in the list object.</summary>
    private enum Position { BeforeList, InList, InItems, AfterList }

    /// <summary>
    /// Decodes as much of the list as the bytes so far hold, one whole value at a time, and says
    /// how many bytes it has used: the rest (part of a value) is offered again with more bytes.
    /// </summary>
    private sealed class Decoder<T>(Func<T, T> each, JsonSerializerOptions options) where T : class
    {
        private JsonReaderState _state;
        private Position _at;

        public List<T> Items { get; } = [];
        public V1ListMeta? Metadata { get; private set; }
        public bool Done => _at == Position.AfterList;

        public int Decode(ReadOnlySpan<byte> bytes, bool final)
        {
            var reader = new Utf8JsonReader(bytes, final, _state);
            var used = 0;
            while (Step(ref reader))
            {
                // A whole value (or token) is decoded: nothing before here is needed again.
                used = (int)reader.BytesConsumed;
                _state = reader.CurrentState;
            }
            return used;
        }

        /// <summary>Decodes the next token or whole value; false when the bytes so far end inside it (or the list is done).</summary>
        private bool Step(ref Utf8JsonReader reader)
        {
            switch (_at)
            {
                case Position.BeforeList:
                    if (!reader.Read()) return false;
                    if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException($"a list response is a JSON object, not {reader.TokenType}");
                    _at = Position.InList;
                    return true;
                case Position.InList:
                    if (!reader.Read()) return false;
                    if (reader.TokenType == JsonTokenType.EndObject) { _at = Position.AfterList; return true; }
                    var items = reader.ValueTextEquals("items"u8);
                    var metadata = reader.ValueTextEquals("metadata"u8);
                    if (!reader.Read()) return false;
                    if (items && reader.TokenType == JsonTokenType.StartArray) { _at = Position.InItems; return true; }
                    if (!Whole(reader)) return false;
                    if (metadata && reader.TokenType == JsonTokenType.StartObject) Metadata = JsonSerializer.Deserialize<V1ListMeta>(ref reader, options);
                    else reader.TrySkip(); // kind, apiVersion, "items": null (whole, as checked)
                    return true;
                case Position.InItems:
                    if (!reader.Read()) return false;
                    if (reader.TokenType == JsonTokenType.EndArray) { _at = Position.InList; return true; }
                    if (!Whole(reader)) return false;
                    if (JsonSerializer.Deserialize<T>(ref reader, options) is { } item) Items.Add(each(item));
                    return true;
                default:
                    if (reader.Read()) throw new JsonException("the list response goes on after the list");
                    return false;
            }
        }

        /// <summary>Whether the value the reader is on has all its bytes (a copy of the reader skips it).</summary>
        private static bool Whole(Utf8JsonReader probe) => probe.TrySkip();
    }
}
