using Prometheus;

namespace ResilienceOperator.Kubernetes;

/// <summary>
/// Fails a request whose response headers have not arrived within a deadline, so that no request
/// waits forever for an API server that took it and never answered (seen after an API server
/// restart: one watch request stayed pending with no answer, no error and no reset, while the
/// connection still answered pings). The deadline covers only the wait for headers; a watch whose
/// headers came back stays open as long as it likes, since the API server sends the headers of a
/// watch as soon as it starts and then streams events (or nothing) in the body. A request that
/// fails here is retried by its caller like any other failure: the informer backs off and
/// watches again, a reconcile is requeued.
/// </summary>
internal sealed class ResponseHeadersDeadline(TimeSpan watchDeadline, TimeSpan requestDeadline, TimeProvider? time = null) : DelegatingHandler
{
    /// <summary>A watch's headers come at once; this is ample even for an API server starting up on a busy machine.</summary>
    public static readonly TimeSpan DefaultWatch = TimeSpan.FromSeconds(15);
    /// <summary>A LIST of a large cache is encoded before its headers are sent: a longer bound for every other request.</summary>
    public static readonly TimeSpan DefaultRequest = TimeSpan.FromSeconds(60);

    private static readonly Counter Expired = Metrics.CreateCounter("resilience_api_response_headers_timeouts_total",
        "API requests abandoned because their response headers did not arrive in time, by kind (watch or request).", "kind");

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var watch = IsWatch(request.RequestUri);
        var deadline = watch ? watchDeadline : requestDeadline;
        using var timeout = new CancellationTokenSource(deadline, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            return await base.SendAsync(request, linked.Token);
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            Expired.WithLabels(watch ? "watch" : "request").Inc();
            throw new HttpRequestException(
                $"{request.Method} {request.RequestUri?.AbsolutePath}: no response headers from the API server within {deadline.TotalSeconds:0.#} s", ex);
        }
    }

    internal static bool IsWatch(Uri? uri) =>
        uri?.Query is { Length: > 0 } query
        && query.TrimStart('?').Split('&')
            .Any(p => p.Equals("watch=true", StringComparison.OrdinalIgnoreCase) || p.Equals("watch=1", StringComparison.Ordinal));
}
