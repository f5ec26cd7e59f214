namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>Unix-domain sockets of the peers a test starts.</summary>
internal static class UnixSockets
{
    /// <summary>__SO_ACCEPTCON in /proc/net/unix's Flags column: the socket listens.</summary>
    private const string Listening = "00010000";

    /// <summary>
    /// Waits until a socket listens on <paramref name="address"/> (a path, or @NAME for the
    /// abstract namespace), read from /proc/net/unix rather than by connecting: a probe
    /// connection would be served (and end peers that take one connection, like socat without fork).
    /// </summary>
    public static async Task WaitListeningAsync(string address, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!IsListening(address))
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"nothing listens on {address}");
            await Task.Delay(20);
        }
    }

    private static bool IsListening(string address) =>
        File.ReadLines("/proc/net/unix").Skip(1)
            // "Num RefCount Protocol Flags Type St Inode Path"
            .Select(line => line.Split(' ', 8, StringSplitOptions.RemoveEmptyEntries))
            .Any(fields => fields.Length == 8 && fields[3] == Listening && fields[7] == address);

    /// <summary>A name in the abstract namespace no other test (or run) uses, with its '@'.</summary>
    public static string UniqueAbstractName() => $"@ferry-test-{Guid.NewGuid():N}";
}
