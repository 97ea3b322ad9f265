namespace ResilienceOperator.Tests;

/// <summary>
/// House rules of .editorconfig that <c>dotnet format</c> does not check: C# lines in src/ aim for 120
/// characters, and none may be over 160.
/// </summary>
public sealed class HouseRulesTests
{
    private const int MaxLineLength = 160;

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ResilienceOperator.sln"))) return dir.FullName;
        throw new InvalidOperationException(
            "repository root (ResilienceOperator.sln) not found above " + AppContext.BaseDirectory);
    }

    private static IEnumerable<string> SourceFiles(string root)
    {
        var src = Path.Combine(root, "src");
        return Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(src, f).Split(Path.DirectorySeparatorChar)
                .Any(part => part is "bin" or "obj"))
            .Order(StringComparer.Ordinal);
    }

    [Fact]
    public void SourceFiles_AnyLine_IsAtMost160Characters()
    {
        var root = RepoRoot();
        var files = SourceFiles(root).ToList();
        Assert.NotEmpty(files);

        var tooLong = new List<string>();
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].Length > MaxLineLength)
                    tooLong.Add($"{Path.GetRelativePath(root, file).Replace('\\', '/')}:{i + 1} ({lines[i].Length})");
            }
        }

        Assert.True(tooLong.Count == 0,
            $"{tooLong.Count} line(s) in src/**/*.cs over {MaxLineLength} characters (wrap them, aim for 120):\n"
            + string.Join("\n", tooLong));
    }
}
