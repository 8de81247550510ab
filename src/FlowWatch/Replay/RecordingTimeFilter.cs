using FlowWatch.Pipeline;

namespace FlowWatch.Replay;

/// <summary>Finds the flows of one recording whose stamp is far from their neighbours' (a single 2099 flow, a 1970 one).</summary>
/// <remarks>
/// A recording is one node's (or one Relay's) stream, in order but for small lag. A flow more than the tolerance away from
/// the median of itself and its <c>radius</c> neighbours on each side is an outlier: merged by its stamp it would stall its
/// file behind every other file (or drag event time years ahead for everyone). A real step in time (recordings of two
/// incidents in one file) moves the median with it once <c>radius</c> + 1 flows stand on the new side. Memory is the window.
/// </remarks>
public static class RecordingTimeFilter
{
    /// <summary>The default distance from the neighbours' median beyond which a stamp is not believed.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromHours(1);

    public static IEnumerable<(RecordedItem Item, BadTime? Bad)> Apply(IEnumerable<RecordedItem> items, TimeSpan tolerance, int radius = 2)
    {
        var tol = tolerance.Ticks * 100;
        var pending = new Queue<RecordedItem>(radius + 1);
        var before = new Queue<long>(radius);
        var window = new long[2 * radius + 1];
        foreach (var item in items)
        {
            if (item.Flow is not { TimeNanos: not 0 }) { yield return (item, null); continue; }
            pending.Enqueue(item);
            if (pending.Count > radius) yield return Decide();
        }
        while (pending.Count > 0) yield return Decide();

        (RecordedItem, BadTime?) Decide()
        {
            var n = 0;
            foreach (var t in before) window[n++] = t;
            foreach (var p in pending) window[n++] = p.Flow!.TimeNanos;
            Array.Sort(window, 0, n);
            var median = window[(n - 1) / 2];
            var item = pending.Dequeue();
            var time = item.Flow!.TimeNanos;
            BadTime? bad = time - median > tol ? BadTime.FarFuture : median - time > tol ? BadTime.FarPast : null;
            if (bad is null)
            {
                before.Enqueue(time);
                if (before.Count > radius) before.Dequeue();
            }
            return (item, bad);
        }
    }
}
