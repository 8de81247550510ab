namespace FlowWatch.Replay;

/// <summary>A few bytes already read (to sniff gzip or a BOM), then the rest of the stream: peeking without seeking.</summary>
internal sealed class PrefixedStream(byte[] prefix, Stream inner) : ReadOnlyWrapperStream(inner)
{
    private int _used;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_used < prefix.Length)
        {
            var n = Math.Min(buffer.Length, prefix.Length - _used);
            prefix.AsSpan(_used, n).CopyTo(buffer);
            _used += n;
            return n;
        }
        return Inner.Read(buffer);
    }

}
