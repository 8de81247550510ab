namespace FlowWatch.Tests.Kube;

/// <summary>Waits for a condition with a deadline (no fixed sleeps): the watchers run on their own threads. The default
/// deadline is generous (30 s) because it only bounds a failure; a passing wait returns as soon as the condition holds.</summary>
internal static class Eventually
{
    public static Task True(Func<bool> condition, string what, double seconds = 30) => True(condition, () => what, seconds);

    public static async Task True(Func<bool> condition, Func<string> what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out after {seconds}s waiting for: {what()}");
            await Task.Delay(10);
        }
    }
}
