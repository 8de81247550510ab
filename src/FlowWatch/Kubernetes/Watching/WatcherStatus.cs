namespace FlowWatch.Kubernetes.Watching;

/// <summary>Where one watcher stands: not yet listed, watching, reconnecting, or standing down (resource absent).</summary>
public enum WatcherStatus { Starting, Watching, Disconnected, Absent, Stopped }
