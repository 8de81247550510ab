namespace FlowWatch.Hubble;

/// <summary>Where the flow stream stands: opening, delivering, or waiting to retry after a failure or stall.</summary>
public enum HubbleConnectionState { Connecting, Connected, Backoff, Stopped }
