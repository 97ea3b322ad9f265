using System.Net;
using System.Text;
using k8s;
using k8s.Models;
using ResilienceOperator.Entities;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

/// <summary>The real client against canned API server responses: what reaches the informer when a watch or list fails.</summary>
public sealed class ListWatchesTests
{
    private const string Expired410 = """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (42)","reason":"Expired","code":410}}""";
    private const string Internal500 = """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcdserver: request timed out","reason":"InternalError","code":500}}""";

    /// <summary>Answers every request with one canned response, as the API server would.</summary>
    private sealed class CannedHandler(HttpStatusCode code, string body) : DelegatingHandler
    {
        public List<Uri> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request.RequestUri!);
            return Task.FromResult(new HttpResponseMessage(code) { RequestMessage = request, Content = new StringContent(body, Encoding.UTF8, "application/json") });
        }
    }

    private static IKubernetes Client(CannedHandler handler) =>
        new k8s.Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" }, handler);

    private static async Task<(List<string> Names, Exception? Error)> Drain<T>(IAsyncEnumerable<(WatchEventType, T)> watch) where T : IKubernetesObject<V1ObjectMeta>
    {
        var names = new List<string>();
        try
        {
            await foreach (var (_, obj) in watch) names.Add(obj.Metadata.Name);
            return (names, null);
        }
        catch (Exception ex)
        {
            return (names, ex);
        }
    }

    [Fact]
    public async Task Watch_TypedKindErrorEvent410_ThrowsWatchExpiredAfterEarlierEvents()
    {
        var pod = """{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p1","namespace":"ns","resourceVersion":"41"}}}""";
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var (names, error) = await Drain(ListWatches.Pods(Client(new(HttpStatusCode.OK, pod + "\n" + Expired410 + "\n"))).Watch("ns", "5", 60, cts.Token))
            .WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["p1"], names);
        var expired = Assert.IsType<WatchExpiredException>(error);
        Assert.Equal(410, expired.Code);
        Assert.Contains("too old resource version", expired.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_CustomKindErrorEvent500_ThrowsWatchErrorNotExpired()
    {
        var policy = """{"type":"MODIFIED","object":{"kind":"ResiliencePolicy","apiVersion":"resilience.dev/v1alpha1","metadata":{"name":"web","namespace":"ns","resourceVersion":"41"},"spec":{}}}""";
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var (names, error) = await Drain<ResiliencePolicy>(ListWatches.Policies(Client(new(HttpStatusCode.OK, policy + "\n" + Internal500 + "\n"))).Watch("ns", "5", 60, cts.Token))
            .WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["web"], names);
        var failed = Assert.IsType<WatchErrorException>(error);
        Assert.Equal(500, failed.Code);
    }

    private const string HeavyMetadata = """
        "metadata":{"name":"p1","namespace":"ns","resourceVersion":"41","labels":{"app":"web"},
        "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"big\":true}","keep":"me"},
        "managedFields":[{"manager":"kubectl","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{}}}]}
        """;

    [Fact]
    public async Task Watch_Event_CachedWithoutManagedFieldsOrLastApplied()
    {
        var pod = """{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1",""" + HeavyMetadata.ReplaceLineEndings("") + "}}";
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var events = new List<V1Pod>();
        await foreach (var (_, p) in ListWatches.Pods(Client(new(HttpStatusCode.OK, pod + "\n"))).Watch("ns", "5", 60, cts.Token)) events.Add(p);

        var meta = Assert.Single(events).Metadata;
        Assert.Null(meta.ManagedFields);
        Assert.Equal(new Dictionary<string, string> { ["keep"] = "me" }, meta.Annotations);
        Assert.Equal("web", meta.Labels["app"]);
    }

    [Fact]
    public async Task List_Page_CachedWithoutManagedFieldsOrLastApplied()
    {
        var list = """{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"50"},"items":[{""" + HeavyMetadata.ReplaceLineEndings("") + "}]}";
        var page = await ListWatches.Pods(Client(new(HttpStatusCode.OK, list))).List("ns", 500, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        var meta = Assert.Single(page.Items).Metadata;
        Assert.Null(meta.ManagedFields);
        Assert.Equal(new Dictionary<string, string> { ["keep"] = "me" }, meta.Annotations);
    }

    [Fact]
    public async Task Watch_StreamEndsWithoutError_EndsCleanly()
    {
        var pod = """{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p1","namespace":"ns","resourceVersion":"41"}}}""";
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var (names, error) = await Drain(ListWatches.Pods(Client(new(HttpStatusCode.OK, pod + "\n"))).Watch("ns", "5", 60, cts.Token))
            .WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["p1"], names);
        Assert.Null(error);
    }

    [Fact]
    public async Task List_ContinueTokenGone_ThrowsWatchExpiredAndPassesLimitAndContinue()
    {
        var status = """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The provided continue parameter is too old to display a consistent list result.","reason":"Expired","code":410}""";
        var handler = new CannedHandler(HttpStatusCode.Gone, status);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var ex = await Assert.ThrowsAsync<WatchExpiredException>(() => ListWatches.Deployments(Client(handler)).List("ns", 500, "tok", cts.Token).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(410, ex.Code);
        var query = Assert.Single(handler.Requests).Query;
        Assert.Contains("limit=500", query, StringComparison.Ordinal);
        Assert.Contains("continue=tok", query, StringComparison.Ordinal);
    }
}
