using System.Net;
using k8s.Autorest;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public sealed class StartupRetryTests
{
    private static HttpOperationException Status(HttpStatusCode code) => new($"HTTP {(int)code}")
    {
        Response = new HttpResponseMessageWrapper(new HttpResponseMessage(code), ""),
    };

    private static async Task<T> RunWithClockAsync<T>(FakeTimeProvider time, Task<T> task)
    {
        for (var i = 0; i < 1000 && !task.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(1);
        }
        return await task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task UntilAnsweredAsync_ConnectionRefusedThen503ThenAnswer_ReturnsTheAnswer()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        var task = StartupRetry.UntilAnsweredAsync("discovery", _ => ++calls switch
        {
            <= 3 => throw new HttpRequestException("Connection refused"),
            4 => throw Status(HttpStatusCode.ServiceUnavailable),
            _ => Task.FromResult("policy/v1"),
        }, NullLogger.Instance, CancellationToken.None, time);

        Assert.Equal("policy/v1", await RunWithClockAsync(time, task));
        Assert.Equal(5, calls);
    }

    [Fact]
    public async Task UntilAnsweredAsync_ServerAnswersNotFound_ThrowsAtOnce()
    {
        var calls = 0;
        var ex = await Assert.ThrowsAsync<HttpOperationException>(() => StartupRetry.UntilAnsweredAsync<string>("discovery", _ =>
        {
            calls++;
            throw Status(HttpStatusCode.NotFound);
        }, NullLogger.Instance, CancellationToken.None, new FakeTimeProvider()));
        Assert.Equal(HttpStatusCode.NotFound, ex.Response.StatusCode);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task UntilAnsweredAsync_Cancelled_StopsRetrying()
    {
        using var cts = new CancellationTokenSource();
        var time = new FakeTimeProvider();
        var task = StartupRetry.UntilAnsweredAsync<string>("discovery", _ => throw new HttpRequestException("Connection refused"), NullLogger.Instance, cts.Token, time);
        time.Advance(TimeSpan.FromSeconds(5));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
