namespace FlowWatch.Detectors.Dns;

/// <summary>DNS response codes folded into the bounded <c>rcode</c> label set.</summary>
public static class DnsRcodes
{
    public const int Refused = 5;
    public const int NxDomain = 3;

    public static readonly string[] Names = ["noerror", "formerr", "servfail", "nxdomain", "notimp", "refused", "other"];

    public const int Count = 7;

    /// <summary>Slot in <see cref="Names"/>: codes 0-5 keep their own, everything else is "other".</summary>
    public static int Slot(int rcode) => rcode is >= 0 and <= 5 ? rcode : 6;
}
