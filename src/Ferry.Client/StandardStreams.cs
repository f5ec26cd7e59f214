namespace Ferry.Client;

/// <summary>The process's stdin and stdout as raw, unbuffered byte streams.</summary>
internal static class StandardStreams
{
    public static Stream OpenInput() => Console.OpenStandardInput();

    /// <summary>stdout; a failed write throws <see cref="IOException"/> naming the errno (see <see cref="StandardOutput"/>).</summary>
    public static Stream OpenOutput() => new StandardOutput();
}
