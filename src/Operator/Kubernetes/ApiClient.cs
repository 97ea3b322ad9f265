using k8s;

namespace ResilienceOperator.Kubernetes;

/// <summary>
/// The operator's connection to the API server. Like client-go since 1.19, an HTTP/2 connection
/// that stops answering pings is dropped (30 s idle, 15 s to answer), so the watches on it fail
/// and are re-opened instead of waiting silently on a dead connection; and a connection (TCP and
/// TLS) that cannot be set up within 10 s fails instead of hanging a request while the API
/// server restarts. A request whose response headers do not come back in time fails too
/// (<see cref="ResponseHeadersDeadline"/>): a watch request that the API server took and never
/// answered would otherwise wait forever on a connection that still answers pings.
/// </summary>
internal static class ApiClient
{
    public static k8s.Kubernetes Create(KubernetesClientConfiguration config)
    {
        var previous = config.FirstMessageHandlerSetup;
        config.FirstMessageHandlerSetup = handler =>
        {
            previous?.Invoke(handler);
            handler.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
            handler.KeepAlivePingTimeout = TimeSpan.FromSeconds(15);
            handler.KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always;
            handler.ConnectTimeout = TimeSpan.FromSeconds(10);
        };
        return new k8s.Kubernetes(config, new ResponseHeadersDeadline(ResponseHeadersDeadline.DefaultWatch, ResponseHeadersDeadline.DefaultRequest));
    }
}
