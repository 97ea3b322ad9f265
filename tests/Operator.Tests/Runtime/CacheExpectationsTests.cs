using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

public sealed class CacheExpectationsTests
{
    private static readonly ObjectKey Owner = new("ns", "owner");
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch);
    private readonly Store<V1ConfigMap> _store = new();

    private static V1ConfigMap Map(string name, string rv) => FakeListWatch.Object(name, rv);

    [Fact]
    public void Awaited_CacheOlderThanTheWrite_UntilTheInformerBringsItOrNewer()
    {
        var expectations = new CacheExpectations(_time);
        _store.Upsert(Map("a", "5"));
        expectations.Expect(Owner, _store, Map("a", "7"));

        Assert.False(expectations.Satisfied(Owner));
        Assert.Contains("ns/a@7", expectations.Awaited(Owner));
        _store.Upsert(Map("a", "8")); // someone else's write after ours: ours is in it
        Assert.True(expectations.Satisfied(Owner));
        Assert.True(expectations.Satisfied(new ObjectKey("ns", "other")));
    }

    [Fact]
    public void Awaited_CreatedObjectNotCachedYet_WaitsUntilSeenOrExpired()
    {
        var expectations = new CacheExpectations(_time);
        expectations.Expect(Owner, _store, Map("job-1", "3"), created: true);
        Assert.False(expectations.Satisfied(Owner));

        _time.Advance(CacheExpectations.DefaultTimeout);
        Assert.True(expectations.Satisfied(Owner)); // deleted before it was ever listed: not waited for forever
    }

    [Fact]
    public void Awaited_UpdatedObjectGoneFromCache_Satisfied()
    {
        var expectations = new CacheExpectations(_time);
        expectations.Expect(Owner, _store, Map("a", "7"));
        Assert.True(expectations.Satisfied(Owner));
    }

    [Fact]
    public void ForgetAndClear_DropWhatIsAwaited()
    {
        var expectations = new CacheExpectations(_time);
        expectations.Expect(Owner, _store, Map("a", "7"), created: true);
        expectations.Forget(Owner);
        Assert.True(expectations.Satisfied(Owner));
        expectations.Expect(Owner, _store, Map("a", "7"), created: true);
        expectations.Clear();
        Assert.True(expectations.Satisfied(Owner));
    }
}
