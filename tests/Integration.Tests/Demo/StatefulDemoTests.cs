using System.Diagnostics;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Demo;

/// <summary>The README's second demo scenario (`bash hack/demo.sh --stateful`), run as a person runs it.</summary>
[Collection("cluster")]
public sealed class StatefulDemoTests(ClusterFixture fixture)
{
    [Fact(Timeout = TestDeadline.Default)]
    public async Task StatefulDemo_FencesPromotesThenSwitches_AndExitsZero()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var dll = Path.Combine(fixture.RepoRoot, "src", "Demo", "bin", configuration, "net10.0", "ResilienceOperator.Demo.dll");
        Assert.True(File.Exists(dll), $"the demo is not built: {dll}");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = fixture.RepoRoot };
        foreach (var a in new[] { dll, "demo", "--stateful" }) psi.ArgumentList.Add(a);
        psi.Environment["RESILIENCE_DEMO_CLUSTER"] = $"demo-stateful-test-{Environment.ProcessId}";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        try { await p.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        var output = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, $"demo exited {p.ExitCode}:\n{output}");
        Assert.Contains("=> failover: pg-a -> pg-b; fenced ", output, StringComparison.Ordinal);
        Assert.Contains("=> in order: fence -> promote -> switch", output, StringComparison.Ordinal);
    }
}
