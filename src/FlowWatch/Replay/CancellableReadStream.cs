namespace FlowWatch.Replay;

/// <summary>Reads of a pipe, FIFO or stdin that a cancellation (SIGTERM) ends, even while no writer sends anything.</summary>
/// <remarks>A blocking read(2) cannot be interrupted from .NET; it runs on a pool thread and the caller stops waiting
/// for it. The process is on its way out then, so the abandoned read costs nothing.</remarks>
internal sealed class CancellableReadStream(Stream inner, CancellationToken ct) : Stream
{
    public override int Read(byte[] buffer, int offset, int count)
    {
        ct.ThrowIfCancellationRequested();
        var read = inner.ReadAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask();
        try { read.Wait(ct); }
        catch (AggregateException e) when (e.InnerException is not null) { throw e.InnerException; }
        return read.Result;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        // A read still blocked in the kernel keeps the handle: closing it under that read is not safe on every platform.
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
