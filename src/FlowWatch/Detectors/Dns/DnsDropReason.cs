using FlowWatch.Flows;

namespace FlowWatch.Detectors.Dns;

/// <summary>The bounded set of reasons a DNS lookup is counted as dropped (the <c>reason</c> label).</summary>
public static class DnsDropReason
{
    /// <summary>Denied by FQDN policy in Cilium's DNS proxy (DROPPED request and/or the proxy's REFUSED).</summary>
    public const int PolicyDeniedProxy = 0;
    /// <summary>Port-53 packet dropped by L3/L4 policy in the datapath.</summary>
    public const int DatapathPolicyDenied = 1;
    /// <summary>Port-53 packet dropped in the datapath for another reason (kept in the finding).</summary>
    public const int DatapathOther = 2;
    /// <summary>Forwarded lookup that got no answer within the timeout.</summary>
    public const int NoAnswer = 3;

    public const int Count = 4;

    public static readonly string[] Names = ["policy_denied_proxy", "datapath_policy_denied", "datapath_other", "no_answer"];

    public static int ForDatapath(int dropReason) =>
        DropReasons.IsPolicy(dropReason) ? DatapathPolicyDenied : DatapathOther;
}
