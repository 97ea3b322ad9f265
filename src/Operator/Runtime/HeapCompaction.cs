using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace ResilienceOperator.Runtime;

/// <summary>
/// The old generation's free space, given back once the operator is quiet. A start, or a burst
/// of changes, replaces thousands of cached objects after they reached the old generation; the
/// collector sweeps what they held into free space, and compacts only past its own threshold
/// (<c>GCConserveMemory=7</c>: 30% free). At rest nothing new is promoted, so no collection of
/// the old generation comes to use that space or give it back: at 10,000 policies up to 33 MiB of
/// a 145 MiB old generation stayed resident for good. Every <see cref="CheckPeriod"/>, once no work
/// queue holds a waiting item, a free space past <see cref="MinFreeBytes"/> and
/// <see cref="MinFreeRatio"/> of the old generation is compacted away in one blocking collection
/// (its pause is logged), and never more often than <see cref="MinSpacing"/>. A health probe the
/// pause times out is repeated at once (<see cref="Health.HealthProber.StallAllowance"/>), so the
/// pause fails no check and costs no status write: without that repeat, this compaction was
/// followed by 284 status writes at 10,000 policies (docs/benchmarks.md, runs P and U).
/// </summary>
internal sealed class HeapCompaction(Func<bool> quiet, ILogger log, TimeProvider? time = null, IHeapCollector? heap = null)
{
    public static readonly TimeSpan CheckPeriod = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MinSpacing = TimeSpan.FromMinutes(5);
    public const long MinFreeBytes = 8L << 20;
    public const double MinFreeRatio = 0.10;

    private static readonly Counter Compactions = Metrics.CreateCounter("resilience_heap_compactions_total",
        "Compactions of the old generation's free space the operator made once quiet.");

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly IHeapCollector _heap = heap ?? RuntimeHeap.Instance;
    private DateTimeOffset? _last;

    /// <summary>Checks every <see cref="CheckPeriod"/> until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try { await Task.Delay(CheckPeriod, _time, ct); } catch (OperationCanceledException) { return; }
            CheckOnce();
        }
    }

    /// <summary>One check: true when it compacted.</summary>
    internal bool CheckOnce()
    {
        var now = _time.GetUtcNow();
        if (_last is { } last && now - last < MinSpacing) return false;
        var before = _heap.OldGeneration();
        if (before.FreeBytes < MinFreeBytes || before.FreeBytes < MinFreeRatio * before.SizeBytes || !quiet()) return false;
        _last = now;
        var clock = Stopwatch.StartNew();
        _heap.Compact();
        Compactions.Inc();
        var after = _heap.OldGeneration();
        log.LogInformation(
            "compacted the old generation while quiet: {Before:0.0} MiB ({Free:0.0} MiB free) -> {After:0.0} MiB ({FreeAfter:0.0} MiB free) in {Ms} ms",
            before.SizeBytes / 1048576.0, before.FreeBytes / 1048576.0, after.SizeBytes / 1048576.0, after.FreeBytes / 1048576.0,
            clock.ElapsedMilliseconds);
        return true;
    }
}

/// <summary>The old generation (gen2 and the large object heap) as the last collection left it.</summary>
internal readonly record struct OldGeneration(long SizeBytes, long FreeBytes);

/// <summary>What <see cref="HeapCompaction"/> reads and does: the runtime's collector, or a test's.</summary>
internal interface IHeapCollector
{
    OldGeneration OldGeneration();
    void Compact();
}

/// <summary>The runtime's own collector.</summary>
internal sealed class RuntimeHeap : IHeapCollector
{
    public static readonly RuntimeHeap Instance = new();

    public OldGeneration OldGeneration()
    {
        // Every collection, of any generation, records every generation's size and free space after it.
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        if (info.Index == 0) return default;
        var generations = info.GenerationInfo;
        long size = 0, free = 0;
        for (var g = 2; g <= 3 && g < generations.Length; g++)
        {
            size += generations[g].SizeAfterBytes;
            free += generations[g].FragmentationAfterBytes;
        }
        return new OldGeneration(size, free);
    }

    /// <summary>A blocking, compacting collection of every generation that also gives the freed memory back to the system at once.</summary>
    public void Compact() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
}
