using System.Text;
using FlowWatch.Flows;
using FlowWatch.Hubble.Proto.Observer;
using Google.Protobuf;
using PbFlow = FlowWatch.Hubble.Proto.Flow.Flow;

namespace FlowWatch.Tests.Flows;

/// <summary>The decoder's memory savings must not change what it returns: compact flow ids and interning under churn.</summary>
public sealed class CompactIdsAndInterningTests
{
    [Theory]
    [InlineData("0f3c9a1e-7b2d-4c5e-9a8b-1234567890ab")]      // canonical: kept as 16 bytes
    [InlineData("00000000-0000-0000-0000-000000000000")]      // canonical, all zero: still an id, not "none"
    [InlineData("0F3C9A1E-7B2D-4C5E-9A8B-1234567890AB")]      // upper case: kept as text
    [InlineData("not-a-uuid")]
    [InlineData("0f3c9a1e-7b2d-4c5e-9a8b-1234567890abX")]
    [InlineData("")]
    public void Flow_ids_read_back_exactly_as_sent(string uuid)
    {
        var bytes = new GetFlowsResponse { Flow = new PbFlow { Uuid = uuid, NodeName = "n" } }.ToByteArray();
        var flow = new FlowWireDecoder(new StringPool()).Decode(bytes).Flow!;
        Assert.Equal(uuid, flow.Uuid);
        Assert.Same(flow.Uuid, flow.Uuid);   // formatted once, then kept
    }

    [Fact]
    public void A_later_uuid_field_replaces_an_earlier_one_as_in_the_generated_parser()
    {
        var first = new GetFlowsResponse { Flow = new PbFlow { Uuid = "0f3c9a1e-7b2d-4c5e-9a8b-1234567890ab" } }.ToByteArray();
        var second = new GetFlowsResponse { Flow = new PbFlow { Uuid = "Other" } }.ToByteArray();
        var both = first.Concat(second).ToArray();   // protobuf merges concatenated messages; the last scalar wins
        Assert.Equal(GetFlowsResponse.Parser.ParseFrom(both).Flow.Uuid, new FlowWireDecoder(new StringPool()).Decode(both).Flow!.Uuid);
        var back = second.Concat(first).ToArray();
        Assert.Equal(GetFlowsResponse.Parser.ParseFrom(back).Flow.Uuid, new FlowWireDecoder(new StringPool()).Decode(back).Flow!.Uuid);
    }

    [Fact]
    public void A_full_interner_makes_room_for_newcomers_and_stays_bounded()
    {
        var created = 0;
        var interner = new Utf8Interner<string>(b => { created++; return Encoding.UTF8.GetString(b); }, slots: 16);
        // Far more names than slots, as pods come and go.
        for (var i = 0; i < 1_000; i++) interner.Get(Encoding.UTF8.GetBytes($"pod-{i}"));
        Assert.True(interner.Misses > 0);
        var before = created;
        var fresh = Encoding.UTF8.GetBytes("pod-new");
        var a = interner.Get(fresh);
        var b = interner.Get(fresh);
        Assert.Equal("pod-new", a);
        Assert.Same(a, b);                  // the newcomer was interned, not decoded afresh on every flow
        Assert.Equal(before + 1, created);
    }
}
