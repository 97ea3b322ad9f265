using System.Net;
using Microsoft.Extensions.Time.Testing;
using ResilienceOperator.Kubernetes;

namespace ResilienceOperator.Tests.Runtime;

/// <summary>A request the API server took and never answered fails instead of waiting forever.</summary>
public sealed class ResponseHeadersDeadlineTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>Answers when told to; until then the request hangs, as one did after an API server restart.</summary>
    private sealed class Server : HttpMessageHandler
    {
        private readonly TaskCompletionSource<HttpResponseMessage> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Received = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Answer(HttpResponseMessage r) => _answer.TrySetResult(r);
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Received.TrySetResult();
            return await _answer.Task.WaitAsync(ct);
        }
    }

    private static (HttpClient Client, Server Server, FakeTimeProvider Time) Make()
    {
        var server = new Server();
        var time = new FakeTimeProvider();
        var handler = new ResponseHeadersDeadline(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(60), time) { InnerHandler = server };
        return (new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan }, server, time);
    }

    [Fact]
    public async Task WatchWithoutHeaders_FailsAtTheWatchDeadline()
    {
        var (client, server, time) = Make();
        var send = client.GetAsync(new Uri("https://127.0.0.1/api/v1/namespaces/a/services?resourceVersion=5&watch=true"), HttpCompletionOption.ResponseHeadersRead);
        await server.Received.Task.WaitAsync(Bound);
        time.Advance(TimeSpan.FromSeconds(14));
        Assert.False(send.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => send.WaitAsync(Bound));
        Assert.Contains("no response headers", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/api/v1/namespaces/a/services", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OtherRequestWithoutHeaders_WaitsForTheLongerDeadline()
    {
        var (client, server, time) = Make();
        var send = client.GetAsync(new Uri("https://127.0.0.1/api/v1/pods?limit=500"), HttpCompletionOption.ResponseHeadersRead);
        await server.Received.Task.WaitAsync(Bound);
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(send.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<HttpRequestException>(() => send.WaitAsync(Bound));
    }

    [Fact]
    public async Task WatchWithHeaders_StaysOpenPastTheDeadline()
    {
        var (client, server, time) = Make();
        var body = new MemoryStream("{\"type\":\"ADDED\"}\n"u8.ToArray());
        server.Answer(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(body) });
        using var response = await client.GetAsync(new Uri("https://127.0.0.1/api/v1/services?watch=true"), HttpCompletionOption.ResponseHeadersRead).WaitAsync(Bound);
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal("{\"type\":\"ADDED\"}\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task CallerCancellation_IsACancellationNotADeadline()
    {
        var (client, server, _) = Make();
        using var cts = new CancellationTokenSource();
        var send = client.GetAsync(new Uri("https://127.0.0.1/api/v1/services?watch=true"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        await server.Received.Task.WaitAsync(Bound);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(Bound));
    }

    [Theory]
    [InlineData("https://h/api/v1/services?watch=true", true)]
    [InlineData("https://h/api/v1/services?allowWatchBookmarks=true&resourceVersion=1&watch=true", true)]
    [InlineData("https://h/api/v1/services?watch=1", true)]
    [InlineData("https://h/api/v1/services?allowWatchBookmarks=true", false)]
    [InlineData("https://h/api/v1/services", false)]
    public void IsWatch_ReadsTheWatchParameter(string uri, bool watch) => Assert.Equal(watch, ResponseHeadersDeadline.IsWatch(new Uri(uri)));
}
