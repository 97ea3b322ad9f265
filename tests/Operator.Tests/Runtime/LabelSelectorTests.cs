using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public sealed class LabelSelectorTests
{
    private static Dictionary<string, string> Labels(params (string Key, string Value)[] labels) => labels.ToDictionary(l => l.Key, l => l.Value);

    private static LabelSelector Parse(string text)
    {
        Assert.True(LabelSelector.TryParse(text, out var selector, out var error), error);
        return selector;
    }

    [Theory]
    [InlineData("resilience.dev/shard=a", true, false, false)]
    [InlineData("resilience.dev/shard == a", true, false, false)]
    [InlineData("resilience.dev/shard!=a", false, true, true)]
    [InlineData("!resilience.dev/shard", false, false, true)]
    [InlineData("resilience.dev/shard", true, true, false)]
    [InlineData("resilience.dev/shard in (a, b)", true, true, false)]
    [InlineData("resilience.dev/shard notin (a)", false, true, true)]
    [InlineData("resilience.dev/shard=a,team=x", false, false, false)]
    public void Matches_AsTheApiServerWould(string selector, bool shardA, bool shardB, bool unlabelled)
    {
        var s = Parse(selector);
        Assert.Equal(shardA, s.Matches(Labels(("resilience.dev/shard", "a"))));
        Assert.Equal(shardB, s.Matches(Labels(("resilience.dev/shard", "b"))));
        Assert.Equal(unlabelled, s.Matches(null));
    }

    [Fact]
    public void Matches_GreaterThan_ComparesNumbers()
    {
        var s = Parse("tier>2");
        Assert.True(s.Matches(Labels(("tier", "10"))));
        Assert.False(s.Matches(Labels(("tier", "2"))));
        Assert.False(s.Matches(Labels(("tier", "x"))));
    }

    [Fact]
    public void Empty_SelectsEverything()
    {
        var s = Parse("  ");
        Assert.True(s.IsEverything);
        Assert.True(s.Matches(Labels(("any", "thing"))));
    }

    [Theory]
    [InlineData("resilience.dev/shard=a,", "a label key is expected")]
    [InlineData("Resilience.Dev/shard=a", "prefix before '/' must be a DNS subdomain")]
    [InlineData("shard=a b", "expected ','")]
    [InlineData("shard in a,b", "needs a list in parentheses")]
    [InlineData("shard in (a,b", "not closed")]
    [InlineData("shard=-a", "label value '-a'")]
    [InlineData("shard ~ a", "expected =, ==, !=, in, notin")]
    [InlineData("tier>x", "needs a whole number")]
    public void TryParse_Bad_SaysWhat(string text, string expected)
    {
        Assert.False(LabelSelector.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
