using Ferry.Platform.Linux;

namespace Ferry.Daemon.Hosting;

/// <summary>What detaching a daemon needs beyond the calls themselves (<see cref="Ferry.Platform.Linux"/>).</summary>
internal static class Native
{
    /// <summary>
    /// Points fds 0-2 at /dev/null first, then writes <paramref name="message"/> to what stdout
    /// was (the parent's pipe) and closes it: whoever reads the message knows the detaching is
    /// already done, and sees end of file right after it.
    /// </summary>
    public static unsafe void DetachThenTell(ReadOnlySpan<byte> message)
    {
        int parent = DescriptorCalls.Duplicate(1);
        if (parent < 0)
            throw new IOException($"cannot duplicate stdout: {Errno.Describe(Errno.Last)}");
        RedirectStdioToDevNull();
        fixed (byte* bytes = message)
        {
            nint written = 0;
            while (written < message.Length)
            {
                nint n = DescriptorCalls.Write(parent, bytes + written, message.Length - written);
                if (n <= 0)
                    break; // the parent is gone: nobody is left to tell
                written += n;
            }
        }
        DescriptorCalls.Close(parent);
    }

    /// <summary>Points stdin, stdout and stderr at /dev/null, as a daemon must once detached.</summary>
    private static void RedirectStdioToDevNull()
    {
        int devNull = DescriptorCalls.Open("/dev/null", DescriptorCalls.ReadWrite, 0);
        if (devNull < 0)
            throw new IOException($"cannot open /dev/null: {Errno.Describe(Errno.Last)}");
        for (int fd = 0; fd <= 2; fd++)
            DescriptorCalls.DuplicateTo(devNull, fd);
        if (devNull > 2)
            DescriptorCalls.Close(devNull);
    }
}
