using System.Diagnostics;
using ResilienceOperator.IntegrationTests.Harness;

namespace ResilienceOperator.IntegrationTests.Demo;

/// <summary>
/// The README's first command, run as a person runs it (the built demo program with its own local
/// control plane): it must show the backup, the failover, the restore, the failback, the measured
/// objectives and a passing drill, and exit 0.
/// </summary>
[Collection("cluster")]
public sealed class DemoTests(ClusterFixture fixture)
{
    [Fact(Timeout = TestDeadline.Default)]
    public async Task Demo_ShowsFailoverRestoreFailbackAndADrill_AndExitsZero()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var dll = Path.Combine(fixture.RepoRoot, "src", "Demo", "bin", configuration, "net10.0", "ResilienceOperator.Demo.dll");
        Assert.True(File.Exists(dll), $"the demo is not built: {dll}");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = fixture.RepoRoot };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("demo");
        psi.Environment["RESILIENCE_DEMO_CLUSTER"] = $"demo-test-{Environment.ProcessId}";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        try { await p.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        var output = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, $"demo exited {p.ExitCode}:\n{output}");
        Assert.Contains("=> backup checkout-", output, StringComparison.Ordinal);
        Assert.Contains("=> restore test Passed: backup checkout-", output, StringComparison.Ordinal);
        Assert.Contains("=> failover: checkout-primary -> checkout-standby", output, StringComparison.Ordinal);
        Assert.Contains("applied backup checkout-", output, StringComparison.Ordinal);
        Assert.Contains("=> measured RTO", output, StringComparison.Ordinal);
        Assert.Contains("=> drill Passed", output, StringComparison.Ordinal);
        Assert.Contains("status.lastDrill: game-day Passed", output, StringComparison.Ordinal);
    }
}
