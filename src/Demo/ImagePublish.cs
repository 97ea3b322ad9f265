using System.Runtime.InteropServices;

namespace ResilienceOperator.Demo;

/// <summary>
/// The operator as the image holds it: the Dockerfile's own <c>dotnet publish</c> command, run on
/// this machine. Shared by <c>bench-scale</c> and the install tests (linked into them), so that
/// what they measure and test is what the image runs.
/// </summary>
internal static class ImagePublish
{
    /// <summary>
    /// The arguments of <c>dotnet</c> for the Dockerfile's publish line: the output folder moved to
    /// <paramref name="output"/>, the image's target architecture (<c>-a $TARGETARCH</c>, set by
    /// BuildKit) replaced by this machine's, and the restore that the Dockerfile does in an earlier
    /// layer folded in.
    /// </summary>
    public static List<string> Arguments(string repoRoot, string output)
    {
        var line = File.ReadLines(Path.Combine(repoRoot, "Dockerfile")).Single(l => l.StartsWith("RUN dotnet publish ", StringComparison.Ordinal));
        var args = line["RUN dotnet ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(a => a != "--no-restore").ToList();
        var arch = args.IndexOf("$TARGETARCH");
        if (arch >= 0) args[arch] = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "x64";
        var o = args.IndexOf("-o");
        if (o < 0) throw new InvalidOperationException("the Dockerfile's publish command has no -o: " + line);
        args[o + 1] = output;
        return [.. args, "--nologo", "-v", "quiet"];
    }
}
