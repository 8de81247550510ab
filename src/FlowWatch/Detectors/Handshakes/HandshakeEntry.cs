using FlowWatch.Flows;

namespace FlowWatch.Detectors.Handshakes;

/// <summary>Mutable state of one tracked handshake; lives in the classifier's table and one of its two age lists.</summary>
internal sealed class HandshakeEntry
{
    public HandshakeKey Key;
    public bool Closed;
    /// <summary>Pending: when the handshake times out. Closed: when it is forgotten.</summary>
    public long DeadlineNanos;
    public long FirstSynNanos;

    public long SynTxStartNanos;
    public uint SynPoints;
    public int SynTx;

    public long SynAckTxStartNanos;
    public uint SynAckPoints;
    public int SynAcks;

    public bool SynAfterSynAck;
    public bool SynReachedPod;
    public bool SynFromNetwork;
    public bool Dropped;
    public int DropReason;

    public FlowEndpoint Server = FlowEndpoint.Empty;
    public FlowEndpoint Client = FlowEndpoint.Empty;
    public ServiceRef Service;
    public string Node = "";

    public HandshakeEntry? Prev, Next;

    public void Reset(HandshakeKey key)
    {
        Key = key;
        Closed = false;
        DeadlineNanos = FirstSynNanos = SynTxStartNanos = SynAckTxStartNanos = 0;
        SynPoints = SynAckPoints = 0;
        SynTx = SynAcks = 0;
        SynAfterSynAck = SynReachedPod = SynFromNetwork = Dropped = false;
        DropReason = 0;
        Server = Client = FlowEndpoint.Empty;
        Service = default;
        Node = "";
        Prev = Next = null;
    }
}

/// <summary>An intrusive FIFO of entries, oldest first: O(1) append, unlink and oldest.</summary>
internal sealed class HandshakeEntryList
{
    public HandshakeEntry? Head { get; private set; }
    private HandshakeEntry? _tail;
    public int Count { get; private set; }

    public void Append(HandshakeEntry e)
    {
        e.Prev = _tail;
        e.Next = null;
        if (_tail is null) Head = e; else _tail.Next = e;
        _tail = e;
        Count++;
    }

    public void Remove(HandshakeEntry e)
    {
        if (e.Prev is null) Head = e.Next; else e.Prev.Next = e.Next;
        if (e.Next is null) _tail = e.Prev; else e.Next.Prev = e.Prev;
        e.Prev = e.Next = null;
        Count--;
    }
}
