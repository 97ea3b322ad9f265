using System.Diagnostics;

namespace ResilienceOperator.Demo;

/// <summary>
/// The demos' clock and watch loop: observes the cluster every 200 ms and prints each status line that differs from the
/// last one printed, with the time since the clock started, until a condition holds.
/// </summary>
internal sealed class StatusWatch
{
    private string _lastLine = "";

    /// <summary>Started when the demo's story begins; every printed time counts from it.</summary>
    public Stopwatch Clock { get; } = new();

    /// <summary>
    /// Observes until <paramref name="done"/> holds; a <see cref="TimeoutException"/> naming <paramref name="what"/> once
    /// <paramref name="timeout"/> has passed (never with <see cref="Timeout.InfiniteTimeSpan"/>).
    /// </summary>
    public async Task UntilAsync<T>(Func<Task<T>> observe, Func<T, string> line, Func<T, bool> done, TimeSpan timeout, string what,
        CancellationToken ct)
    {
        var deadline = timeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + timeout;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var s = await observe();
            var text = line(s);
            if (text != _lastLine)
            {
                Console.WriteLine($"  t+{Clock.Elapsed.TotalSeconds,6:0.0}s  {text}");
                _lastLine = text;
            }
            if (done(s)) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"demo: waited {timeout.TotalSeconds}s for {what}");
            await Task.Delay(200, ct);
        }
    }
}
