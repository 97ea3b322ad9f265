using System.Text;
using System.Text.RegularExpressions;

namespace ResilienceOperator.Tests.Docs;

/// <summary>
/// Every relative link of README.md and docs/ resolves: the file (or folder) exists and, for a
/// link into a Markdown file with <c>#anchor</c>, that file has a heading (or an HTML id) whose
/// GitHub slug is the anchor.
/// </summary>
public sealed class DocLinksTests
{
    [Fact]
    public void EveryRelativeLinkOfTheDocs_ResolvesToAFileAndHeading()
    {
        var root = RepoRoot();
        var files = new List<string> { Path.Combine(root, "README.md"), Path.Combine(root, "charts", "resilience-operator", "README.md") };
        files.AddRange(Directory.GetFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal));

        var broken = files.SelectMany(BrokenLinks).ToList();
        Assert.True(broken.Count == 0, "broken links:\n" + string.Join("\n", broken));
    }

    [Fact]
    public void BrokenLinks_MissingFileOrAnchor_Reported()
    {
        var dir = Directory.CreateTempSubdirectory("doc-links-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "b.md"), "# Page B\n\n## `--flag` and *more* (v2)\n\n## Twice\n\n## Twice\n");
            var a = Path.Combine(dir.FullName, "a.md");
            File.WriteAllText(a, """
                # A
                [ok](b.md) [ok](b.md#page-b) [ok](b.md#--flag-and-more-v2) [ok](b.md#twice-1) [ok](#a) [web](https://example.com/x.md)
                [missing file](c.md) [missing anchor](b.md#nope) [missing here](#nowhere)
                ```
                [inside a code block](d.md)
                ```
                """);

            var broken = BrokenLinks(a);

            Assert.Equal(3, broken.Count);
            Assert.Contains(broken, b => b.Contains("c.md", StringComparison.Ordinal));
            Assert.Contains(broken, b => b.Contains("b.md#nope", StringComparison.Ordinal));
            Assert.Contains(broken, b => b.Contains("#nowhere", StringComparison.Ordinal));
        }
        finally { dir.Delete(recursive: true); }
    }

    [Theory]
    [InlineData("ResiliencePolicyNotReady", "resiliencepolicynotready")]
    [InlineData("Why each RBAC rule exists", "why-each-rbac-rule-exists")]
    [InlineData("`spec.healthCheck`", "spechealthcheck")]
    [InlineData("Failback (automatic, manual)", "failback-automatic-manual")]
    [InlineData("failurePolicy: Ignore, timeoutSeconds: 5", "failurepolicy-ignore-timeoutseconds-5")]
    [InlineData("Fault → behaviour → proof", "fault--behaviour--proof")]
    [InlineData("API server_outage", "api-server_outage")]
    public void Slug_FollowsGitHub(string heading, string slug) => Assert.Equal(slug, Slug(heading));

    private static readonly Regex Link = new(@"\]\(([^)\s]+)(?:\s+""[^""]*"")?\)", RegexOptions.Compiled);
    private static readonly Regex Heading = new(@"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$", RegexOptions.Compiled);
    private static readonly Regex HtmlId = new(@"<a\s+(?:name|id)=""([^""]+)""", RegexOptions.Compiled);

    /// <summary>The broken relative links of one Markdown file, as "file:line: link (why)".</summary>
    private static List<string> BrokenLinks(string file)
    {
        var broken = new List<string>();
        var lines = File.ReadAllLines(file);
        var fence = false;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal)) { fence = !fence; continue; }
            if (fence) continue;
            foreach (Match m in Link.Matches(WithoutInlineCode(lines[i])))
            {
                var link = m.Groups[1].Value;
                if (Regex.IsMatch(link, "^[a-z][a-z0-9+.-]*:", RegexOptions.IgnoreCase)) continue;   // http:, https:, mailto:
                var hash = link.IndexOf('#', StringComparison.Ordinal);
                var path = Uri.UnescapeDataString(hash < 0 ? link : link[..hash]);
                var anchor = hash < 0 ? null : link[(hash + 1)..];
                var target = path.Length == 0 ? file : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, path));
                var where = $"{file}:{i + 1}: {link}";
                if (!File.Exists(target) && !Directory.Exists(target)) { broken.Add(where + " (no such file)"); continue; }
                if (anchor is { Length: > 0 } && target.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && !Anchors(target).Contains(anchor))
                    broken.Add(where + " (no such heading)");
            }
        }
        return broken;
    }

    /// <summary>The anchors GitHub gives a Markdown file: one per heading (repeats get -1, -2, ...), plus HTML ids.</summary>
    private static HashSet<string> Anchors(string file)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var fence = false;
        foreach (var line in File.ReadAllLines(file))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) { fence = !fence; continue; }
            if (fence) continue;
            foreach (Match id in HtmlId.Matches(line)) anchors.Add(id.Groups[1].Value);
            if (Heading.Match(line) is not { Success: true } h) continue;
            var slug = Slug(h.Groups[2].Value);
            var n = seen.GetValueOrDefault(slug);
            seen[slug] = n + 1;
            anchors.Add(n == 0 ? slug : $"{slug}-{n}");
        }
        return anchors;
    }

    /// <summary>
    /// GitHub's heading slug: the heading's text (links as their text, no code or emphasis marks),
    /// lower-cased, every character but letters, digits, marks, connector punctuation (<c>_</c>),
    /// spaces and hyphens dropped, each space turned into a hyphen.
    /// </summary>
    private static string Slug(string heading)
    {
        var text = Regex.Replace(heading, @"!?\[([^\]]*)\]\([^)]*\)", "$1");
        var slug = new StringBuilder();
        foreach (var c in text.ToLowerInvariant())
        {
            if (c == ' ') slug.Append('-');
            else if (c == '-' || char.IsLetterOrDigit(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.NonSpacingMark
                         or System.Globalization.UnicodeCategory.SpacingCombiningMark or System.Globalization.UnicodeCategory.ConnectorPunctuation)
                slug.Append(c);
        }
        return slug.ToString();
    }

    private static string WithoutInlineCode(string line) => Regex.Replace(line, "`[^`]*`", "");

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "README.md")) && Directory.Exists(Path.Combine(dir.FullName, "src"))) return dir.FullName;
        throw new InvalidOperationException("repository root (README.md and src/) not found above " + AppContext.BaseDirectory);
    }
}
