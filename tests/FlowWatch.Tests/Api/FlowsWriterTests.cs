using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using FlowWatch.Api;
using FlowWatch.Flows;
using FlowWatch.Replay;
using FlowWatch.Store;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace FlowWatch.Tests.Api;

/// <summary>A flow answer reaches the socket as it is written, a few tens of KB at a time, never held whole.</summary>
public sealed class FlowsWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-flowswriter-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ALargeAnswer_IsHandedToTheBodyInPiecesOfAboutTheFlushSize()
    {
        var store = StoreOf(5_000);
        using var page = store.Query(new FlowQuery { Limit = 5_000 });
        var body = new HoldingPipeWriter();
        var http = new DefaultHttpContext();
        http.Features.Set<IHttpResponseBodyFeature>(new PipeBodyFeature(body));

        await FlowsWriter.WriteAsync(http.Response, page, store.Count, "c1", CancellationToken.None);

        using var doc = JsonDocument.Parse(body.Written.WrittenMemory);
        Assert.Equal(5_000, doc.RootElement.GetProperty("flows").GetArrayLength());
        // One flow is under 2 KB, so no piece may exceed the 32 KB threshold by more than that.
        Assert.True(body.Flushes.Count > 10, $"{body.Flushes.Count} flushes for {body.Written.WrittenCount} bytes");
        Assert.True(body.Flushes.Max() <= 34 * 1024, $"{body.Flushes.Max()} bytes held before one flush, of {body.Written.WrittenCount}");
    }

    [Fact]
    public void APage_ReadAfterTheStoreMovedOn_GivesTheFlowsOfItsQuery_AndIsEmptyOnceDisposed()
    {
        var store = StoreOf(100);
        var page = store.Query(new FlowQuery { Limit = 100 });
        var first = page.Flows.Select(f => f.Seq).ToList();
        var uuids = page.Flows.Select(f => f.Uuid).ToList();
        foreach (var flow in Golden()) store.Add(flow);   // the writer goes on while the answer is written
        Assert.Equal(first, page.Flows.Select(f => f.Seq));
        Assert.Equal(uuids, page.Flows.Select(f => f.Uuid));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => 99L - i), first);
        page.Dispose();
        Assert.Empty(page.Flows);
        Assert.Throws<ArgumentOutOfRangeException>(() => page.Flows[0]);
    }

    private FlowStore StoreOf(int flows)
    {
        var store = new FlowStore(new FlowStoreOptions { MaxFlows = 65_536 }, Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var golden = Golden();
        for (var i = 0; i < flows; i++) store.Add(golden[i % golden.Count]);
        return store;
    }

    private List<FlowWatch.Flows.FlowRecord> Golden()
    {
        var file = Path.Combine(_dir, "golden.jsonl");
        File.WriteAllText(file, string.Join("\n", HubbleFlowJsonTests.HubblePrinted) + "\n");
        return new FlowFileReader(new FlowConverter()).Read(file).Select(i => i.Flow ?? throw new Xunit.Sdk.XunitException($"not read: {i.Bad}")).ToList();
    }

    /// <summary>Holds what is written until it is flushed, as Kestrel's HTTP/1.1 output does, and records how much each flush let go.</summary>
    private sealed class HoldingPipeWriter : PipeWriter
    {
        private long _held;

        public ArrayBufferWriter<byte> Written { get; } = new();

        public List<long> Flushes { get; } = [];

        public override void Advance(int bytes) { Written.Advance(bytes); _held += bytes; }

        public override Memory<byte> GetMemory(int sizeHint = 0) => Written.GetMemory(Math.Max(sizeHint, 4096));

        public override Span<byte> GetSpan(int sizeHint = 0) => Written.GetSpan(Math.Max(sizeHint, 4096));

        public override ValueTask<FlushResult> FlushAsync(CancellationToken ct = default)
        {
            if (_held > 0) Flushes.Add(_held);
            _held = 0;
            return ValueTask.FromResult(new FlushResult(isCanceled: false, isCompleted: false));
        }

        public override void CancelPendingFlush() { }

        public override void Complete(Exception? exception = null) { }
    }

    private sealed class PipeBodyFeature(PipeWriter writer) : IHttpResponseBodyFeature
    {
        public Stream Stream => writer.AsStream();
        public PipeWriter Writer => writer;
        public void DisableBuffering() { }
        public Task StartAsync(CancellationToken ct = default) => Task.CompletedTask;
        public Task SendFileAsync(string path, long offset, long? count, CancellationToken ct = default) => throw new NotSupportedException();
        public Task CompleteAsync() => Task.CompletedTask;
    }
}
