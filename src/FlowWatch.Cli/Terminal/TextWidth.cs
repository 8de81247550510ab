namespace FlowWatch.Cli.Terminal;

/// <summary>How wide the terminal is, and cutting text to fit it.</summary>
public static class TextWidth
{
    /// <summary>Columns of the terminal on stdout; $COLUMNS when stdout is not a terminal; null (no limit) when neither is known.</summary>
    public static int? Current()
    {
        if (!Console.IsOutputRedirected)
        {
            try { if (Console.WindowWidth > 0) return Console.WindowWidth; }
            catch (IOException) { }
        }
        return int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 0 ? columns : null;
    }

    /// <summary>The text cut to <paramref name="width"/> characters, ending in "…" when cut.</summary>
    public static string Cut(string text, int width)
    {
        if (width <= 0) return "";
        if (text.Length <= width) return text;
        return width == 1 ? "…" : text[..(width - 1)].TrimEnd() + "…";
    }
}
