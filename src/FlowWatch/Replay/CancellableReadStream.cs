namespace FlowWatch.Replay;

/// <summary>Reads of a pipe, FIFO or stdin that a cancellation (SIGTERM) ends, even while no writer sends anything.</summary>
/// <remarks>A blocking read(2) cannot be interrupted from .NET; it runs on a pool thread and the caller stops waiting
/// for it. The process is on its way out then, so the abandoned read costs nothing.</remarks>
internal sealed class CancellableReadStream(Stream inner, CancellationToken ct) : ReadOnlyWrapperStream(inner)
{
    public override int Read(byte[] buffer, int offset, int count)
    {
        ct.ThrowIfCancellationRequested();
        var read = Inner.ReadAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask();
        try { read.Wait(ct); }
        catch (AggregateException e) when (e.InnerException is not null) { throw e.InnerException; }
        return read.Result;
    }

}
