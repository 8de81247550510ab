using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Tests.Kube;

/// <summary>Keeps every log line, so a test can assert on what FlowWatch said (and show it when a wait times out).</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue($"{logLevel}: {formatter(state, exception)}");

    public override string ToString() => string.Join("\n", Lines);
}
