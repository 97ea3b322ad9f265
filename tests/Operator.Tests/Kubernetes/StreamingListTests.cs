using System.Text;
using System.Text.Json;
using k8s.Models;
using ResilienceOperator.Kubernetes;
using ResilienceOperator.Runtime;

namespace ResilienceOperator.Tests.Kubernetes;

/// <summary>A LIST response decoded item by item as its bytes arrive, in whatever pieces the network gives them.</summary>
public sealed class StreamingListTests
{
    /// <summary>Hands out its bytes a few at a time, as a slow connection would, and counts what it has handed out.</summary>
    private sealed class TrickleStream(byte[] bytes, int piece) : Stream
    {
        public int Position_ { get; private set; }
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, piece), bytes.Length - Position_);
            Array.Copy(bytes, Position_, buffer, offset, n);
            Position_ += n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => bytes.Length;
        public override long Position { get => Position_; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static string Pod(int i) =>
        $$$"""{"metadata":{"name":"p{{{i}}}","namespace":"shop","resourceVersion":"{{{i}}}","labels":{"app":"checkout","note":"{{{new string('x', i * 7)}}}"}},"status":{"podIP":"10.0.0.{{{i}}}"}}""";

    private static string PodList(int n, string meta = """{"resourceVersion":"77","continue":"next-page"}""") =>
        $$"""{"kind":"PodList","apiVersion":"v1","metadata":{{meta}},"items":[{{string.Join(",", Enumerable.Range(1, n).Select(Pod))}}]}""";

    private static Task<ListPage<V1Pod>> Read(string json, int piece, int initialBuffer = 64 * 1024, Func<V1Pod, V1Pod>? each = null) =>
        StreamingList.ReadAsync(new TrickleStream(Encoding.UTF8.GetBytes(json), piece), each ?? (p => p), CancellationToken.None, initialBuffer)
            .WaitAsync(TimeSpan.FromSeconds(10));

    [Theory]
    [InlineData(1, 16)]      // a byte at a time, into a buffer smaller than one item: it grows
    [InlineData(7, 64)]
    [InlineData(4096, 65536)]
    public async Task Read_AnyPieceSize_SameItemsAndListMetadata(int piece, int initialBuffer)
    {
        var page = await Read(PodList(40), piece, initialBuffer);

        Assert.Equal(Enumerable.Range(1, 40).Select(i => "p" + i), page.Items.Select(p => p.Metadata.Name));
        Assert.Equal("10.0.0.40", page.Items[^1].Status.PodIP);
        Assert.Equal(new string('x', 40 * 7), page.Items[^1].Metadata.Labels["note"]);
        Assert.Equal("77", page.ResourceVersion);
        Assert.Equal("next-page", page.Continue);
    }

    [Fact]
    public async Task Read_EachItemHandedOverBeforeTheResponseHasEnded()
    {
        var bytes = Encoding.UTF8.GetBytes(PodList(40));
        var stream = new TrickleStream(bytes, 512);
        int? readWhenFirst = null;

        await StreamingList.ReadAsync<V1Pod>(stream, p => { readWhenFirst ??= stream.Position_; return p; }, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(10));

        // The first pod was decoded (and trimmed) with only the first pieces read, not the whole list.
        Assert.True(readWhenFirst < bytes.Length / 4, $"first item handed over after {readWhenFirst} of {bytes.Length} bytes");
    }

    [Fact]
    public async Task Read_ItemsTheCallbackReplaces_AreWhatThePageHolds()
    {
        var page = await Read(PodList(3), 100, each: p => new V1Pod { Metadata = new V1ObjectMeta { Name = "trimmed-" + p.Metadata.Name } });

        Assert.Equal(["trimmed-p1", "trimmed-p2", "trimmed-p3"], page.Items.Select(p => p.Metadata.Name));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(200)]
    public async Task Read_ResponseCutShort_ThrowsInsteadOfAShorterList(int cut)
    {
        // A list missing its end must never pass for a complete one: the informer would take every
        // object it did not see for deleted.
        var json = PodList(5);

        await Assert.ThrowsAnyAsync<JsonException>(() => Read(json[..^cut], 64));
    }

    [Fact]
    public async Task Read_LastPageAndNullItems_NoContinueAndNoItems()
    {
        var page = await Read("""{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":null}""", 5);

        Assert.Empty(page.Items);
        Assert.Equal("9", page.ResourceVersion);
        Assert.Null(page.Continue);
    }

    [Fact]
    public void QueryString_FirstPageFromTheWatchCache_CarriesSelectorLimitAndResourceVersion()
    {
        Assert.Equal("?labelSelector=resilience.dev%2Fshard%3Da&limit=500&resourceVersion=0",
            StreamingList.QueryString("resilience.dev/shard=a", new ListQuery(500, null, "0")));
        Assert.Equal("?limit=500&continue=a%2Bb%3D", StreamingList.QueryString(null, new ListQuery(500, "a+b=")));
        Assert.Equal("", StreamingList.QueryString(null, new ListQuery(null, null)));
    }
}
