namespace FlowWatch.Detectors.Handshakes;

/// <summary>One detector's hold on the handshake classifier: a shared one it attached to (released on dispose), or its own.</summary>
/// <remarks>The asymmetric-path, backend-health and node-connectivity detectors share one classifier, so each handshake is
/// tracked and counted once; the last detector to release it disposes it.</remarks>
internal sealed class HandshakeClassifierLease(HandshakeClassifier? shared) : IDisposable
{
    private readonly bool _owned = shared is null;
    private bool _attached;

    public HandshakeClassifier Classifier { get; } = shared ?? new HandshakeClassifier();

    public IObservable<ClassifiedHandshake> Attach(DetectorContext context)
    {
        var handshakes = Classifier.Attach(context);
        _attached = true;
        return handshakes;
    }

    public void Dispose()
    {
        if (_attached) Classifier.Release();
        else if (_owned) Classifier.Dispose();
        _attached = false;
    }
}
