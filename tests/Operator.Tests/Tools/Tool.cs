using System.Diagnostics;

namespace ResilienceOperator.Tests.Tools;

/// <summary>Runs a real command-line tool from PATH; a missing tool fails the test, never skips it.</summary>
internal static class Tool
{
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ResilienceOperator.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    public static string Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        Assert.Fail($"{name} was not found on PATH. Install it with `bash hack/tools.sh` and put `$(bash hack/tools.sh --bin-dir)` on PATH (hack/test.sh does both).");
        return "";
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string name, string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(Find(name)) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(timeout.Token);
        return (p.ExitCode, await stdout + await stderr);
    }
}
