using Microsoft.Win32.SafeHandles;

namespace Ferry.Client;

/// <summary>The process's stdin and stdout as raw, unbuffered byte streams.</summary>
internal static class StandardStreams
{
    private const int StandardOutputDescriptor = 1;

    public static Stream OpenInput() => Console.OpenStandardInput();

    public static Stream OpenOutput()
    {
        // The console stream silently discards writes that fail with EPIPE, so behind
        // `| head -c 10` ferry would keep draining the socket forever. A FileStream over the
        // same descriptor reports EPIPE as an IOException. It is kept only for unseekable
        // outputs (pipes, sockets, terminals), where it issues plain write(2) calls; on a
        // regular file it would write at its own offset (pwrite) and clobber output that
        // shares the descriptor, as in `(ferry ...; echo done) > log`, so files keep the
        // console stream, where EPIPE cannot happen anyway.
        FileStream? raw = null;
        try
        {
            raw = new FileStream(
                new SafeFileHandle(StandardOutputDescriptor, ownsHandle: false), FileAccess.Write, bufferSize: 0);
            if (!raw.CanSeek)
                return raw;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Closed or odd descriptor: the console stream copes and reports write errors.
        }
        raw?.Dispose();
        return Console.OpenStandardOutput();
    }
}
