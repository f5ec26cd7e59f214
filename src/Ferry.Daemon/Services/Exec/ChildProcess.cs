using Ferry.Daemon.Transport;
using Ferry.Platform.Linux;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Daemon.Services.Exec;

/// <summary>How a program ended: its exit code, or the signal that ended it (null, null: reaped elsewhere, unknown).</summary>
internal readonly record struct ChildExit(int? Code, int? Signal)
{
    /// <summary>It exited with a code other than 0, or was killed by a signal (unknown: not failed).</summary>
    public bool Failed => Code is > 0 || Signal is not null;

    /// <summary>The metrics' result label: "success" (code 0), "failure" (another code), "signal", "unknown".</summary>
    public string Outcome => (Code, Signal) switch
    {
        (0, _) => "success",
        (int, _) => "failure",
        (_, int) => "signal",
        _ => "unknown",
    };

    public override string ToString() => (Code, Signal) switch
    {
        (int code, _) => $"exited with code {code}",
        (_, int signal) => $"killed by signal {signal} ({SignalNumber.Name(signal)})",
        _ => "ended (how is unknown: it was reaped elsewhere)",
    };
}

/// <summary>
/// One running program: its pid, a pidfd that the connection's epoll loop watches for its exit (no
/// SIGCHLD handler, no thread waiting in waitpid), and its process group, which it leads (it was
/// started in a session of its own), so a signal reaches whatever it started too.
/// </summary>
/// <remarks>
/// The child is not reaped when it exits, only at <see cref="Reap"/>: while it is a zombie its pid
/// cannot be reused, so signalling its group (-pid) can never reach a stranger.
/// </remarks>
internal sealed class ChildProcess : IEpollTarget, IDisposable
{
    /// <summary>The pidfd, closed with a plain close(2); closing it takes it out of the epoll set.</summary>
    private readonly SafeFileHandle _pidfd;
    private readonly EpollLoop _loop;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _slot;

    private ChildProcess(int pid, SafeFileHandle pidfd, EpollLoop loop)
    {
        Pid = pid;
        _pidfd = pidfd;
        _loop = loop;
        StartedAt = Environment.TickCount64;
        // Edge-triggered: one event when it exits (also at once if it already has).
        _slot = loop.Register(this, _pidfd, Epoll.In | Epoll.EdgeTriggered);
    }

    public int Pid { get; }

    public long StartedAt { get; }

    /// <summary>Completes when the program has exited (it is not reaped yet).</summary>
    public Task Exited => _exited.Task;

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>The last signal ferryd sent the group ("TERM", "KILL"), and why, for the close line.</summary>
    public string? SignalledBecause { get => Volatile.Read(ref _signalledBecause); private set => Volatile.Write(ref _signalledBecause, value); }

    private string? _signalledBecause;

    /// <summary>
    /// Watches a program that posix_spawn started; if it cannot be watched (no pidfd, no epoll
    /// registration), it is killed and reaped at once, never left unwatched, and why is returned.
    /// </summary>
    public static ChildProcess? Watch(int pid, EpollLoop loop, out string? failure)
    {
        int pidfd = ProcessCalls.OpenPidDescriptor(pid, 0);
        if (pidfd < 0)
        {
            int error = Errno.Last;
            failure = $"pidfd_open: {Errno.Describe(error)}{(error == Errno.NotImplemented ? " (Linux 5.3 or later is needed)" : "")}";
            KillAndReap(pid);
            return null;
        }
        var handle = new SafeFileHandle(pidfd, ownsHandle: true);
        try
        {
            failure = null;
            return new ChildProcess(pid, handle, loop);
        }
        catch (IOException ex)
        {
            handle.Dispose();
            failure = ex.Message;
            KillAndReap(pid);
            return null;
        }
    }

    private static void KillAndReap(int pid)
    {
        ProcessCalls.Kill(-pid, SignalNumber.Kill);
        ReapWhenGone(pid);
    }

    /// <summary>Waits in milliseconds for a child that has exited or was killed, and reaps it (a KILLed one is gone within a few).</summary>
    private static void ReapWhenGone(int pid)
    {
        while (!ProcessCalls.Reap(pid))
            Thread.Sleep(1);
    }

    public void OnEvents(uint events, EpollLoop loop) => _exited.TrySetResult();

    /// <summary>
    /// Signals the program and everything in its process group; while the program itself runs,
    /// remembers why, for the close line (what is sent to its group after it exited did not end it).
    /// </summary>
    public void SignalGroup(int signal, string because)
    {
        bool running = !HasExited;
        if (ProcessCalls.Kill(-Pid, signal) == 0 && running)
            SignalledBecause = $"{SignalNumber.Name(signal)} sent {because}";
    }

    /// <summary>Is anything left in the program's process group (after it was reaped: a grandchild it left behind)?</summary>
    public bool GroupLives => ProcessCalls.Kill(-Pid, 0) == 0;

    /// <summary>How it ended; known after <see cref="Reap"/>.</summary>
    public ChildExit Exit { get; private set; }

    /// <summary>
    /// Reads how it ended, then removes the zombie; after this, <see cref="SignalGroup"/> reaches
    /// only what the program left behind. Only after <see cref="Exited"/>.
    /// </summary>
    public void Reap()
    {
        if (ProcessCalls.PeekExit(Pid) is var (code, signal))
            Exit = new ChildExit(code, signal);
        ReapWhenGone(Pid); // exited: the first waitpid takes it
    }

    public void Dispose()
    {
        _loop.Forget(_slot, this);
        _pidfd.Dispose();
    }
}
