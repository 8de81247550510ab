using System.Collections.Immutable;
using FlowWatch.Detectors;
using FlowWatch.Detectors.Asymmetric;
using FlowWatch.Detectors.Backends;
using FlowWatch.Detectors.Dns;
using FlowWatch.Detectors.DuplicateIp;
using FlowWatch.Detectors.Handshakes;
using FlowWatch.Detectors.Registry;
using FlowWatch.Findings;

namespace FlowWatch.Hosting;

/// <summary>Settings for every detector, bound from command-line flags: one options record per detector, by type.</summary>
/// <remarks>
/// A detector reads its options with <see cref="Get{T}"/> and flags replace them with <see cref="With{T}"/>, so a new
/// detector needs no property here; the properties below are the older detectors' shorthand for the same store.
/// </remarks>
public sealed record DetectorSettings
{
    private ImmutableDictionary<Type, object> _options = ImmutableDictionary<Type, object>.Empty;

    /// <summary>The detector options of type <typeparamref name="T"/>; its defaults when none were set.</summary>
    public T Get<T>() where T : class, new() => _options.TryGetValue(typeof(T), out var o) ? (T)o : new T();

    /// <summary>These settings with <paramref name="options"/> in place of the current <typeparamref name="T"/>.</summary>
    public DetectorSettings With<T>(T options) where T : class => this with { _options = _options.SetItem(typeof(T), options) };

    public DnsDropOptions Dns { get => Get<DnsDropOptions>(); init => _options = _options.SetItem(typeof(DnsDropOptions), value); }
    public DuplicateIpOptions DuplicateIp { get => Get<DuplicateIpOptions>(); init => _options = _options.SetItem(typeof(DuplicateIpOptions), value); }
    /// <summary>TCP handshake tracking shared by the detectors that read handshakes.</summary>
    public HandshakeClassifierOptions Handshakes { get => Get<HandshakeClassifierOptions>(); init => _options = _options.SetItem(typeof(HandshakeClassifierOptions), value); }
    public AsymmetricPathOptions Asymmetric { get => Get<AsymmetricPathOptions>(); init => _options = _options.SetItem(typeof(AsymmetricPathOptions), value); }
    public BackendHealthOptions Backends { get => Get<BackendHealthOptions>(); init => _options = _options.SetItem(typeof(BackendHealthOptions), value); }

    public static DetectorSettings Default { get; } = new();

    public bool Equals(DetectorSettings? other) =>
        other is not null && _options.Count == other._options.Count &&
        _options.All(p => other._options.TryGetValue(p.Key, out var o) && Equals(p.Value, o));

    public override int GetHashCode() => _options.Count;
}

/// <summary>Builds the detectors FlowWatch runs, from their settings and <see cref="DetectorRegistry"/>.</summary>
/// <remarks>
/// Detectors that read TCP handshakes share one <see cref="HandshakeClassifier"/> (<see cref="SharedDetectorParts"/>), so
/// the handshake table is kept once and each handshake is counted once in <c>flowwatch_tcp_handshakes_total</c>.
/// </remarks>
public static class DetectorSet
{
    /// <summary>How long the detector behind <paramref name="kind"/> waits without evidence before it resolves a finding.</summary>
    public static TimeSpan QuietPeriod(DetectorSettings settings, FindingKind kind) =>
        DetectorRegistry.DetectorOf(kind)?.QuietPeriod(settings) ?? TimeSpan.FromMinutes(2);

    public static IReadOnlyList<IDetector> Create(DetectorSettings settings)
    {
        var shared = new SharedDetectorParts(settings);
        return DetectorRegistry.All.Select(d => d.Create(settings, shared)).ToList();
    }
}
