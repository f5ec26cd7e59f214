using Ferry.Platform.Linux;

namespace Ferry.Daemon.Services.Exec;

/// <summary>
/// Whether a program can be started, judged before any client comes (at start and on reload):
/// it exists, is a file, may be executed, and is a format exec(2) takes (an ELF binary, or a
/// script whose #! interpreter exists). posix_spawn does not fall back to a shell for anything else.
/// </summary>
internal static class ProgramCheck
{
    /// <summary>As much of a #! line as the kernel reads (BINPRM_BUF_SIZE).</summary>
    private const int HeadSize = 256;

    private static ReadOnlySpan<byte> ElfMagic => [0x7f, (byte)'E', (byte)'L', (byte)'F'];

    /// <summary>Null when it can be started; otherwise why not, in a few words.</summary>
    public static string? Problem(string path)
    {
        if (System.IO.Directory.Exists(path))
            return "is a directory";
        if (!File.Exists(path))
            return "no such file";
        if (!DescriptorCalls.MayExecute(path, out int errno))
            return $"cannot be executed: {Errno.Describe(errno)}";
        Span<byte> head = stackalloc byte[HeadSize];
        int length;
        try
        {
            using var file = File.OpenHandle(path);
            length = RandomAccess.Read(file, head, 0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Execute-only for us (mode 0711): exec may still work, so only the format goes unchecked.
            return null;
        }
        head = head[..length];
        if (head.StartsWith(ElfMagic))
            return null;
        if (!head.StartsWith("#!"u8))
            return "not a program exec can start (no ELF header and no #! line)";
        // The kernel reads the #! line up to '\n' (or the end of a short file), splitting at blanks only.
        var line = head[2..];
        int end = line.IndexOf((byte)'\n');
        if (end < 0 && length == HeadSize)
            return "its #! line is too long";
        string text = System.Text.Encoding.UTF8.GetString(end < 0 ? line : line[..end]).TrimStart(' ', '\t');
        string interpreter = text.Split([' ', '\t'], 2)[0];
        if (interpreter.EndsWith('\r'))
            return $"its #! line ends in CR (a DOS line ending): the kernel would look for '{interpreter.TrimEnd('\r')}\\r'";
        if (interpreter.Length == 0)
            return "its #! line names no interpreter";
        if (!File.Exists(interpreter) || !DescriptorCalls.MayExecute(interpreter, out _))
            return $"its interpreter {interpreter} is missing or not executable";
        return null;
    }
}
