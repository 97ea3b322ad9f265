using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Runtime;

/// <summary>
/// Tests that read and collect the process's own heap: run alone, so that no other test's allocations or
/// collections change the free space between the test's own collections.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WholeHeapCollection
{
    public const string Name = "whole heap";
}

[Collection(WholeHeapCollection.Name)]
public sealed class HeapCompactionTests
{
    private const long MiB = 1 << 20;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch);
    private readonly FakeHeap _heap = new() { Old = new OldGeneration(150 * MiB, 33 * MiB) };
    private bool _quiet = true;

    private HeapCompaction Make() => new(() => _quiet, NullLogger.Instance, _time, _heap);

    [Fact]
    public void Check_QuietAndFragmented_Compacts()
    {
        Assert.True(Make().CheckOnce());
        Assert.Equal(1, _heap.Compactions);
    }

    [Fact]
    public void Check_WhileAQueueHoldsWork_LeavesTheHeapAlone()
    {
        _quiet = false;
        Assert.False(Make().CheckOnce());
        Assert.Equal(0, _heap.Compactions);
    }

    [Theory]
    [InlineData(150, 14)] // under 10% of the old generation
    [InlineData(40, 7)] // 17%, but under 8 MiB
    public void Check_LittleFreeSpace_LeavesTheHeapAlone(long sizeMiB, long freeMiB)
    {
        _heap.Old = new OldGeneration(sizeMiB * MiB, freeMiB * MiB);
        Assert.False(Make().CheckOnce());
        Assert.Equal(0, _heap.Compactions);
    }

    [Fact]
    public void Check_FragmentedAgainSoonAfter_WaitsOutTheSpacing()
    {
        var compaction = Make();
        Assert.True(compaction.CheckOnce());
        _heap.Old = new OldGeneration(150 * MiB, 33 * MiB);
        _time.Advance(HeapCompaction.MinSpacing - TimeSpan.FromSeconds(1));
        Assert.False(compaction.CheckOnce());
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(compaction.CheckOnce());
        Assert.Equal(2, _heap.Compactions);
    }

    [Fact]
    public async Task Run_ChecksEveryPeriodUntilCancelled()
    {
        _quiet = false;
        var asked = 0;
        using var cts = new CancellationTokenSource();
        var run = new HeapCompaction(() => { asked++; return false; }, NullLogger.Instance, _time, _heap).RunAsync(cts.Token);
        for (var i = 1; i <= 3; i++)
        {
            _time.Advance(HeapCompaction.CheckPeriod);
            await WaitUntilAsync(() => asked == i);
        }
        await cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, asked);
    }

    /// <summary>
    /// The runtime's own collector: the free space a sweep leaves in the old generation (every fifth
    /// object dropped after all were promoted) is seen, also after a later gen0 collection, and
    /// compacted away.
    /// </summary>
    [Fact]
    public void RuntimeHeap_SeesOldGenerationFreeSpace_AndCompactsIt()
    {
        var kept = Fragment();
        GC.Collect(0);
        var before = RuntimeHeap.Instance.OldGeneration();
        Assert.True(before.FreeBytes >= 8 * MiB, $"free space after the sweep: {before.FreeBytes / MiB} MiB");
        RuntimeHeap.Instance.Compact();
        var after = RuntimeHeap.Instance.OldGeneration();
        Assert.True(after.FreeBytes < before.FreeBytes / 2, $"free space {before.FreeBytes / MiB} -> {after.FreeBytes / MiB} MiB");
        GC.KeepAlive(kept);
    }

    /// <summary>
    /// 64 MiB of small arrays promoted to gen2, every fifth dropped, then a full collection that
    /// sweeps: at 20% free space the collector does not compact on its own (at half it would).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static object?[] Fragment()
    {
        var all = new object?[64 * 1024];
        for (var i = 0; i < all.Length; i++) all[i] = new byte[1000];
        // Two collections: gen0 to gen1, gen1 to gen2.
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        for (var i = 0; i < all.Length; i += 5) all[i] = null;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        return all;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition()) await Task.Delay(5, deadline.Token);
    }

    private sealed class FakeHeap : IHeapCollector
    {
        public OldGeneration Old { get; set; }
        public int Compactions { get; private set; }

        public OldGeneration OldGeneration() => Old;

        public void Compact()
        {
            Compactions++;
            Old = Old with { FreeBytes = 0 };
        }
    }
}
