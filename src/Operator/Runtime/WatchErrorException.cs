using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace ResilienceOperator.Runtime;

/// <summary>
/// A watch (or list) that the API server ended with an error: an ERROR watch event carrying a
/// v1.Status, or an error response. <see cref="Code"/> is the Status code when there is one.
/// </summary>
internal class WatchErrorException(int? code, string? reason, string message, Exception? inner = null) : Exception(message, inner)
{
    public int? Code { get; } = code;
    public string? Reason { get; } = reason;

    /// <summary>
    /// The exception a failed watch or list stands for. 410 Gone, reason Expired and "too old
    /// resource version" all mean the same thing: the resourceVersion (or continue token) has been
    /// compacted away and only a fresh LIST can resynchronise.
    /// </summary>
    public static WatchErrorException From(Exception ex) => ex switch
    {
        WatchErrorException w => w,
        KubernetesException { Status: { } s } => FromStatus(s, ex),
        HttpOperationException { Response: { } r } => FromStatus(ParseStatus(r.Content) ?? new V1Status { Code = (int)r.StatusCode, Message = ex.Message }, ex),
        _ => new WatchErrorException(null, null, ex.Message, ex),
    };

    public static WatchErrorException FromStatus(V1Status status, Exception? inner = null)
    {
        var message = $"watch error {status.Code} {status.Reason}: {status.Message}";
        var expired = status.Code == (int)HttpStatusCode.Gone
            || string.Equals(status.Reason, "Expired", StringComparison.OrdinalIgnoreCase)
            || string.Equals(status.Reason, "Gone", StringComparison.OrdinalIgnoreCase)
            || (status.Message?.Contains("too old resource version", StringComparison.OrdinalIgnoreCase) ?? false);
        return expired
            ? new WatchExpiredException(status.Code, status.Reason, message, inner)
            : new WatchErrorException(status.Code, status.Reason, message, inner);
    }

    private static V1Status? ParseStatus(string? body)
    {
        if (string.IsNullOrEmpty(body)) return null;
        try
        {
            var s = KubernetesJson.Deserialize<V1Status>(body);
            return s?.Kind == "Status" ? s : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>410 Gone: the resourceVersion or continue token is too old; the cache must be relisted.</summary>
internal sealed class WatchExpiredException(int? code, string? reason, string message, Exception? inner = null)
    : WatchErrorException(code, reason, message, inner);
