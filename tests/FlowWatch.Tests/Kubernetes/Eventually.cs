namespace FlowWatch.Tests.Kube;

/// <summary>Waits for a condition with a deadline (no fixed sleeps): the watchers run on their own threads.</summary>
internal static class Eventually
{
    public static Task True(Func<bool> condition, string what, double seconds = 10) => True(condition, () => what, seconds);

    public static async Task True(Func<bool> condition, Func<string> what, double seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out after {seconds}s waiting for: {what()}");
            await Task.Delay(10);
        }
    }
}
