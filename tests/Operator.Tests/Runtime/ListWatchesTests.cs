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

    [Theory]
    [InlineData("pods")]
    [InlineData("policies")]
    public async Task Watch_EndsWithoutAnyLine_EndsCleanlyWithNoEvents(string kind)
    {
        // A quiet watch the API server ends at its timeout: headers, then an empty body.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var client = Client(new(HttpStatusCode.OK, ""));
        var (names, error) = kind == "pods"
            ? await Drain(ListWatches.Pods(client).Watch("ns", "5", 60, cts.Token)).WaitAsync(TimeSpan.FromSeconds(10))
            : await Drain<ResiliencePolicy>(ListWatches.Policies(client).Watch("ns", "5", 60, cts.Token)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(names);
        Assert.Null(error);
    }

    [Fact]
    public async Task Watch_PolicyBookmark_PassesThroughTheCacheTransformWithoutEndingTheWatch()
    {
        // A bookmark carries an object with a resourceVersion only: no name, no spec.
        var bookmark = """{"type":"BOOKMARK","object":{"kind":"ResiliencePolicy","apiVersion":"resilience.dev/v1alpha1","metadata":{"resourceVersion":"44"}}}""";
        var policy = """{"type":"MODIFIED","object":{"kind":"ResiliencePolicy","apiVersion":"resilience.dev/v1alpha1","metadata":{"name":"web","namespace":"ns","resourceVersion":"45"},"spec":{}}}""";
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var events = new List<(WatchEventType, ResiliencePolicy)>();
        await foreach (var e in ListWatches.Policies(Client(new(HttpStatusCode.OK, bookmark + "\n" + policy + "\n"))).Watch("ns", "5", 60, cts.Token)) events.Add(e);

        Assert.Equal([WatchEventType.Bookmark, WatchEventType.Modified], events.Select(e => e.Item1));
        Assert.Equal("44", events[0].Item2.Metadata.ResourceVersion);
        Assert.Equal("web", events[1].Item2.Metadata.Name);
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
        "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"big\":true}","deployment.kubernetes.io/revision":"3","resilience.dev/drill":"d1"},
        "managedFields":[{"manager":"kubectl","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{}}}]}
        """;

    [Fact]
    public async Task Watch_Event_CachedWithoutManagedFieldsOrUnreadAnnotations()
    {
        var deployment = """{"type":"ADDED","object":{"kind":"Deployment","apiVersion":"apps/v1",""" + HeavyMetadata.ReplaceLineEndings("") + "}}";
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var events = new List<V1Deployment>();
        await foreach (var (_, d) in ListWatches.Deployments(Client(new(HttpStatusCode.OK, deployment + "\n"))).Watch("ns", "5", 60, cts.Token)) events.Add(d);

        var meta = Assert.Single(events).Metadata;
        Assert.Null(meta.ManagedFields);
        Assert.Equal(new Dictionary<string, string> { ["resilience.dev/drill"] = "d1" }, meta.Annotations);
        Assert.Equal("web", meta.Labels["app"]);
    }

    [Fact]
    public async Task List_Page_CachedWithoutManagedFieldsOrUnreadAnnotations()
    {
        var list = """{"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{"resourceVersion":"50"},"items":[{""" + HeavyMetadata.ReplaceLineEndings("") + "}]}";
        var page = await ListWatches.Deployments(Client(new(HttpStatusCode.OK, list))).List("ns", new ListQuery(500, null), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        var meta = Assert.Single(page.Items).Metadata;
        Assert.Null(meta.ManagedFields);
        Assert.Equal(new Dictionary<string, string> { ["resilience.dev/drill"] = "d1" }, meta.Annotations);
    }

    private const string HeavyPod = """
        {"kind":"Pod","apiVersion":"v1",
         "metadata":{"name":"p1","namespace":"ns","resourceVersion":"41","labels":{"app":"web"},"deletionTimestamp":"2026-01-02T03:04:05Z",
           "annotations":{"note":"x"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-1","uid":"u1"}]},
         "spec":{"containers":[{"name":"app","image":"web:1","env":[{"name":"A","value":"1"}],"ports":[{"containerPort":8080}]}],
           "volumes":[{"name":"data","emptyDir":{}}],"readinessGates":[{"conditionType":"resilience.dev/healthy"}]},
         "status":{"phase":"Running","podIP":"10.0.0.7","hostIP":"10.1.0.1",
           "conditions":[{"type":"PodScheduled","status":"True"},{"type":"Ready","status":"True","message":"long text"}],"containerStatuses":[{"name":"app","ready":true,"restartCount":3,"image":"web:1","imageID":"x"}]}}
        """;

    [Fact]
    public async Task List_Pod_CachedWithOnlyWhatChecksAndDrillsRead()
    {
        var list = """{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"50"},"items":[""" + HeavyPod.ReplaceLineEndings("") + "]}";
        var page = await ListWatches.Pods(Client(new(HttpStatusCode.OK, list))).List("ns", new ListQuery(500, null), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        var pod = Assert.Single(page.Items);
        // Kept: what health checks, readiness gates and drills decide with.
        Assert.Equal(("p1", "ns", "41", "web"), (pod.Metadata.Name, pod.Metadata.NamespaceProperty, pod.Metadata.ResourceVersion, pod.Metadata.Labels["app"]));
        Assert.NotNull(pod.Metadata.DeletionTimestamp);
        Assert.Equal("resilience.dev/healthy", Assert.Single(pod.Spec.ReadinessGates).ConditionType);
        Assert.Equal("10.0.0.7", pod.Status.PodIP);
        Assert.Equal(("Ready", "True"), (Assert.Single(pod.Status.Conditions).Type, pod.Status.Conditions[0].Status));
        Assert.Null(pod.Status.Conditions[0].Message);
        // Dropped: what nothing reads.
        Assert.Empty(pod.Spec.Containers);
        Assert.Null(pod.Spec.Volumes);
        Assert.Null(pod.Status.ContainerStatuses);
        Assert.Null(pod.Status.HostIP);
        Assert.Null(pod.Status.Phase);
        Assert.Null(pod.Metadata.Annotations);
        Assert.Null(pod.Metadata.OwnerReferences);
    }

    [Fact]
    public async Task List_Pods_ShareRepeatedStringsTheirSpecAndTheirConditions()
    {
        var items = string.Join(",", Enumerable.Range(0, 2).Select(i =>
            $$$"""{"metadata":{"name":"p{{{i}}}","namespace":"shop","labels":{"app":"web"}},"spec":{"containers":[{"name":"app"}]},""" +
            $$$"""
            "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-01-02T03:04:0{{{i}}}Z"}]}}
            """));
        var list = """{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"50"},"items":[""" + items + "]}";
        var page = await ListWatches.Pods(Client(new(HttpStatusCode.OK, list))).List("shop", new ListQuery(500, null), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        var (a, b) = (page.Items[0], page.Items[1]);
        Assert.Same(a.Metadata.NamespaceProperty, b.Metadata.NamespaceProperty);
        Assert.Same(a.Metadata.Labels.Single().Key, b.Metadata.Labels.Single().Key);
        Assert.Same(a.Metadata.Labels["app"], b.Metadata.Labels["app"]);
        Assert.Same(a.Status.Conditions, b.Status.Conditions);
        Assert.Same(a.Spec, b.Spec);
        Assert.Equal("p1", b.Metadata.Name);
    }

    [Fact]
    public async Task List_Deployment_CachedWithoutStatusConditionsOrWhatThePodTemplateHasUnread()
    {
        var list = """
            {"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{"resourceVersion":"50"},"items":[{"metadata":{"name":"web","namespace":"shop"},
             "spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
             "spec":{"containers":[{"name":"app","image":"web:1","ports":[{"containerPort":8080}]},{"name":"sidecar","image":"log:2"}]}}},
             "status":{"replicas":2,"readyReplicas":1,"conditions":[{"type":"Available","status":"True","message":"Deployment has minimum availability."}]}}]}
            """.ReplaceLineEndings("");
        var page = await ListWatches.Deployments(Client(new(HttpStatusCode.OK, list))).List("shop", new ListQuery(500, null), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        var d = Assert.Single(page.Items);
        Assert.Null(d.Status.Conditions);
        Assert.Equal((2, 1), (d.Status.Replicas, d.Status.ReadyReplicas));
        // Of the pod template's containers only the ports stay (a restore test reads its target whole from the API server).
        var app = Assert.Single(d.Spec.Template.Spec.Containers);
        Assert.Equal(8080, Assert.Single(app.Ports).ContainerPort);
        Assert.Null(app.Image);
        Assert.Same(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels);
    }

    [Fact]
    public async Task List_Policies_ShareTheirCommonWordsButNotTheirOwnNames()
    {
        static string Policy(string name) =>
            $$$$"""
            {"metadata":{"name":"{{{{name}}}}","namespace":"shop","finalizers":["resilience.dev/finalizer"]},
             "spec":{"service":{"name":"{{{{name}}}}"},"targets":[{"name":"{{{{name}}}}-primary"}],"healthCheck":{"interval":"10s","http":{"path":"/healthz","port":8080}}},
             "status":{"activeTargets":["{{{{name}}}}-primary"],"conditions":[{"type":"Ready","status":"True","reason":"Serving","message":"traffic goes to healthy {{{{name}}}}-primary"},
               {"type":"Degraded","status":"False","reason":"NotConfigured","message":"spec.degradation is not set"}]}}
            """;
        var list = """{"kind":"ResiliencePolicyList","apiVersion":"resilience.dev/v1alpha1","metadata":{"resourceVersion":"50"},"items":[""" +
            Policy("cart") + "," + Policy("checkout") + "]}";
        var page = await ListWatches.Policies(Client(new(HttpStatusCode.OK, list.ReplaceLineEndings(""))))
            .List("shop", new ListQuery(500, null), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        var (a, b) = (page.Items[0], page.Items[1]);
        Assert.Same(a.Spec.HealthCheck!.Interval, b.Spec.HealthCheck!.Interval);
        Assert.Same(a.Spec.HealthCheck.Http!.Path, b.Spec.HealthCheck.Http!.Path);
        Assert.Same(a.Metadata.Finalizers[0], b.Metadata.Finalizers[0]);
        var (ready, degraded) = (a.Status!.Conditions![0], a.Status.Conditions[1]);
        Assert.Same(ready.Reason, b.Status!.Conditions![0].Reason);
        Assert.Same(degraded.Message, b.Status.Conditions[1].Message);
        // A string naming the policy's own objects is its own, not the pool's.
        var pool = CacheTransform.Strings;
        Assert.NotSame(a.Status.Conditions[0].Message, pool.Get(new string(a.Status.Conditions[0].Message)));
        Assert.NotSame(a.Spec.Targets[0].Name, pool.Get(new string(a.Spec.Targets[0].Name)));
        Assert.Equal("traffic goes to healthy checkout-primary", b.Status.Conditions[0].Message);
    }

    [Fact]
    public async Task List_Pods_EqualLabelMapsShareOneInstance()
    {
        static string Pod(string name, string hash) =>
            $$$$"""{"metadata":{"name":"{{{{name}}}}","namespace":"shop","labels":{"app":"web","pod-template-hash":"{{{{hash}}}}"}}}""";
        var list = """{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"50"},"items":[""" +
            string.Join(",", Pod("a", "h1"), Pod("b", "h1"), Pod("c", "h2")) + "]}";
        var page = await ListWatches.Pods(Client(new(HttpStatusCode.OK, list))).List("shop", new ListQuery(500, null), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        var (a, b, c) = (page.Items[0].Metadata.Labels, page.Items[1].Metadata.Labels, page.Items[2].Metadata.Labels);
        Assert.Same(a, b);
        Assert.NotSame(a, c);
        Assert.Equal("h2", c["pod-template-hash"]);
    }

    [Fact]
    public void StringPool_Full_StartsOverWithTheNewString()
    {
        var pool = new StringPool(1);
        var first = pool.Get(new string('a', 3));
        Assert.Same(first, pool.Get(new string('a', 3)));

        var other = new string('b', 3);
        Assert.Same(other, pool.Get(other));
        Assert.Same(other, pool.Get(new string('b', 3)));
        Assert.NotSame(first, pool.Get(new string('a', 3)));
        Assert.Equal(1, pool.Count);
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

        var ex = await Assert.ThrowsAsync<WatchExpiredException>(() => ListWatches.Deployments(Client(handler)).List("ns", new ListQuery(500, "tok"), cts.Token).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(410, ex.Code);
        var query = Assert.Single(handler.Requests).Query;
        Assert.Contains("limit=500", query, StringComparison.Ordinal);
        Assert.Contains("continue=tok", query, StringComparison.Ordinal);
    }
}
