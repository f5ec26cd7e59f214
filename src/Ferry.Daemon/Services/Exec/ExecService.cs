using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Logging;
using Ferry.Daemon.Transport;
using Ferry.Platform.Linux;
using Ferry.Protocol;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services.Exec;

/// <summary>
/// exec: a program per connection, as inetd, tcpserver and systemd's Accept=yes run them. The
/// program's fd 0 and 1 are one end of a socketpair whose other end ferryd copies to and from
/// the client (so TLS, byte counts, idle timeouts and half-close work as for any service), fd 2
/// is as stderr= says, and no other descriptor of ferryd's reaches it. At most maxChildren run at
/// once; further clients wait, connected, for one to end. The copying runs on the client's epoll
/// loop, as forward's does; only the spawn itself goes to the thread pool.
/// </summary>
internal sealed partial class ExecService : IConnectionService, IServiceMetrics
{
    private const int StderrLinesPerWindow = 50;

    /// <summary>How often a repeated warning (programs that fail to start, maxChildren reached) is logged at most.</summary>
    public static readonly TimeSpan RepeatedWarningWindow = TimeSpan.FromSeconds(10);

    private readonly ExecOptions _options;
    private readonly string _listener;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly ChildEnvironment _environment;
    private readonly string _path;
    private readonly string[] _arguments;
    private readonly RepeatWindow _startFailures;
    private readonly RepeatWindow _full;
    private readonly LineBudget _stderrBudget;
    private readonly ConcurrentDictionary<string, long> _exits = new(StringComparer.Ordinal);
    private long _waiting;
    private long _running;

    public ExecService(ServiceContext context)
    {
        _options = context.Options<ExecOptions>();
        _listener = context.Listener.ToString();
        _logger = context.Loggers.CreateLogger("ferryd.exec");
        _slots = new SemaphoreSlim(_options.MaxChildren, _options.MaxChildren);
        _environment = new ChildEnvironment(_options);
        // user=/group=: setpriv sets the ids, then execs the program with its own argv[0].
        _path = _options.Account?.SwitcherPath ?? _options.Command;
        _arguments = [.. _options.Account?.SwitcherArguments() ?? [], _options.Command, .. _options.Arguments];
        _startFailures = new RepeatWindow(context.Time, RepeatedWarningWindow);
        _full = new RepeatWindow(context.Time, RepeatedWarningWindow);
        _stderrBudget = new LineBudget(context.Time, RepeatedWarningWindow, StderrLinesPerWindow,
            count => StderrSuppressed(_logger, _listener, count, StderrLinesPerWindow, RepeatedWarningWindow.TotalSeconds));
    }

    public async ValueTask<CloseReason> RunAsync(ServiceConnection client)
    {
        // Asked before the first await: on a socket thread (plain TCP) the copying may stay there;
        // with TLS on the listener the service runs on the thread pool, and so must the copying.
        PipeScheduler scheduler = EpollLoop.Current is null ? PipeScheduler.ThreadPool : PipeScheduler.Inline;
        var socket = client.Transport as SocketConnection;
        if (!_slots.Wait(0))
        {
            if (_full.ShouldLog(out long more))
                MaxChildrenReached(_logger, _listener, _options.MaxChildren, Repeats(more));
            Interlocked.Increment(ref _waiting);
            CloseReason? gone;
            try
            {
                gone = await WaitForSlotAsync(client, socket);
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
            if (gone is not null)
                return gone.Value;
        }
        else
        {
            _full.Reset();
        }
        try
        {
            return await ServeAsync(client, socket, scheduler);
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>
    /// Waits for a program to end; null once a slot is taken, or how the client ended meanwhile
    /// (ferryd stopping, closed by the idle timeout, reset): a client gone is never given a program.
    /// </summary>
    private async Task<CloseReason?> WaitForSlotAsync(ServiceConnection client, SocketConnection? socket)
    {
        using var gone = CancellationTokenSource.CreateLinkedTokenSource(client.Stopping);
        socket?.WhenClosed(static state => ((CancellationTokenSource)state!).Cancel(), gone);
        try
        {
            await _slots.WaitAsync(gone.Token);
        }
        catch (OperationCanceledException)
        {
            return client.Stopping.IsCancellationRequested ? CloseReason.Shutdown : CloseReason.Aborted;
        }
        finally
        {
            socket?.ForgetWhenClosed();
        }
        // A reset while it waited is pending on the socket (nobody read it): give the slot back.
        if (socket is not null && (socket.IsClosed || socket.PendingError() != 0))
        {
            _slots.Release();
            return CloseReason.PeerReset;
        }
        return null;
    }

    private async Task<CloseReason> ServeAsync(ServiceConnection client, SocketConnection? socket, PipeScheduler scheduler)
    {
        EpollLoop loop = socket?.Loop ?? EpollLoop.Next();
        var remote = client.Transport?.RemoteEndPoint;
        var local = client.Transport?.LocalEndPoint;
        // posix_spawn holds its thread until the program has exec'd: a thread-pool thread, never a socket thread.
        var launched = await Task.Run(() => Launch(client, remote, local, loop));
        if (launched.Child is not { } child)
        {
            client.CloseDetail = $"{_options.Command} not started: {launched.Failure}";
            CountExit(NotStarted);
            return CloseReason.ProgramNotStarted;
        }
        Interlocked.Increment(ref _running);
        SocketConnection? stdio = null;
        SocketConnection? stderr = null;
        StderrLog? stderrLog = null;
        string? cut = null;
        bool notStarted = false;
        CloseReason reason;
        try
        {
            int stdioFd = launched.Stdio, stderrFd = launched.Stderr;
            try
            {
                stdio = Register(ref stdioFd, loop, scheduler);
                if (stderrFd >= 0)
                    stderr = Register(ref stderrFd, loop, scheduler);
            }
            catch (IOException ex)
            {
                Close(stdioFd);
                Close(stderrFd);
                Failed(ex.Message, client);
                child.SignalGroup(SignalNumber.Kill, "because its sockets could not be registered");
                client.CloseDetail = $"{_options.Command} not started: {ex.Message}";
                notStarted = true;
                return CloseReason.ProgramNotStarted;
            }
            _startFailures.Reset();
            Task stderrRead = Task.CompletedTask;
            if (stderr is not null)
            {
                int pid = child.Pid;
                string peer = client.Peer;
                stderrLog = new StderrLog(line =>
                {
                    if (_stderrBudget.TryTake())
                        StderrLine(_logger, _listener, pid, peer, line);
                });
                stderrRead = stderrLog.ReadAsync(stderr.Transport.Input);
            }
            var session = new ExecSession(client, child, stdio, _options);
            client.Description = session;
            reason = await session.RunAsync(stderrRead, stderr);
            if (session.OutputCut)
                cut = $"its output was held open after it exited (by something it started), cut {session.OutputCutAfter.TotalSeconds:0.###} s later";
        }
        finally
        {
            try
            {
                await EndAsync(child, stdio, stderr);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
                CountExit(notStarted ? NotStarted : child.Exit.Outcome);
            }
        }
        var exit = child.Exit;
        string detail = $"pid {child.Pid} {exit} after {Environment.TickCount64 - child.StartedAt} ms";
        if (child.SignalledBecause is { } signalled)
            detail += $" ({signalled})";
        if (cut is not null)
            detail += $"; {cut}";
        if (exit.Failed && stderrLog?.LastLine is { } last)
            detail += $"; last stderr: {last}";
        client.CloseDetail = detail;
        return reason;
    }

    private const string NotStarted = "not_started";

    private void CountExit(string result) => _exits.AddOrUpdate(result, 1, static (_, count) => count + 1);

    public void Report(ServiceReport report)
    {
        report.Add(ServiceMetric.ExecChildren, Interlocked.Read(ref _running));
        report.Add(ServiceMetric.ExecWaiting, Interlocked.Read(ref _waiting));
        foreach (var (result, count) in _exits)
            report.Add(ServiceMetric.ExecExits, count, "result", result);
    }

    /// <summary>The program just started: ferryd's ends of its sockets (not yet registered), or why it did not start.</summary>
    private readonly record struct Launched(ChildProcess? Child, int Stdio, int Stderr, string? Failure);

    /// <summary>
    /// Starts the program with its sockets and watches it; ferryd's ends of the sockets are
    /// returned for the caller to register. A failure is logged once per episode.
    /// </summary>
    private Launched Launch(ServiceConnection client, EndPoint? remote, EndPoint? local, EpollLoop loop)
    {
        int stdioOurs = -1, stdioTheirs = -1, stderrOurs = -1, stderrTheirs = -1;
        try
        {
            int error = SocketCalls.OpenPair(out stdioOurs, out stdioTheirs);
            if (error == 0 && _options.Stderr == StderrMode.Log)
                error = SocketCalls.OpenPair(out stderrOurs, out stderrTheirs);
            if (error != 0)
                return Failed($"socketpair: {Errno.Describe(error)}", client);
            var stderrMode = _options.Stderr switch
            {
                StderrMode.Log => ChildStderr.Descriptor,
                StderrMode.Socket => ChildStderr.SameAsOutput,
                _ => ChildStderr.Discarded,
            };
            error = ChildSpawn.Start(_path, _arguments, _environment.For(remote, local), _options.Directory, stdioTheirs, stderrMode,
                stderrTheirs, out int pid);
            if (error != 0)
                return Failed(DescribeStartFailure(error), client);
            var child = ChildProcess.Watch(pid, loop, out string? failure);
            if (child is null)
                return Failed(failure!, client);
            var launched = new Launched(child, stdioOurs, stderrOurs, null);
            stdioOurs = stderrOurs = -1; // the caller's now
            return launched;
        }
        finally
        {
            // The program holds its ends now (or never will).
            Close(stdioTheirs);
            Close(stderrTheirs);
            Close(stdioOurs);
            Close(stderrOurs);
        }
    }

    private static SocketConnection Register(ref int descriptor, EpollLoop loop, PipeScheduler scheduler)
    {
        var connection = new SocketConnection(descriptor, loop, BlockPool.Default, scheduler);
        descriptor = -1; // the connection owns it now
        try
        {
            connection.Start();
        }
        catch (IOException ex)
        {
            // Never registered: closing it is all there is to undo.
            connection.Reset(new Microsoft.AspNetCore.Connections.ConnectionAbortedException(ex.Message));
            throw;
        }
        return connection;
    }

    private static void Close(int descriptor)
    {
        if (descriptor >= 0)
            DescriptorCalls.Close(descriptor);
    }

    private Launched Failed(string why, ServiceConnection client)
    {
        if (_startFailures.ShouldLog(out long more))
            CannotStart(_logger, _listener, client.Peer, _options.Command, why, Repeats(more));
        return new Launched(null, -1, -1, why);
    }

    private static string DescribeStartFailure(int error) => error switch
    {
        Errno.WouldBlock => "no process could be made (EAGAIN: the process limit, RLIMIT_NPROC or memory)",
        Errno.NotExecutable => "exec format error (no ELF header and no #! line)",
        _ => Errno.Describe(error),
    };

    /// <summary>
    /// The program is past its end when this returns: it exited (the session saw to it, KILL if it
    /// had to), is reaped, and what it left in its process group got TERM, then KILL after killGrace.
    /// </summary>
    private async Task EndAsync(ChildProcess child, SocketConnection? stdio, SocketConnection? stderr)
    {
        if (!child.HasExited)
        {
            // Only after an error in the session, or sockets that could not be registered: it saw to the ending otherwise.
            child.SignalGroup(SignalNumber.Kill, "because its session failed");
            await child.Exited;
        }
        child.Reap();
        child.Dispose();
        if (stdio is not null)
            await stdio.DisposeAsync();
        if (stderr is not null)
            await stderr.DisposeAsync();
        if (!child.GroupLives)
            return;
        child.SignalGroup(SignalNumber.Terminate, "to what it left in its process group");
        long deadline = Environment.TickCount64 + (long)_options.KillGrace.TotalMilliseconds;
        while (child.GroupLives && Environment.TickCount64 < deadline)
            await Task.Delay(20);
        if (child.GroupLives)
            child.SignalGroup(SignalNumber.Kill, $"to what it left in its process group, killGrace {_options.KillGrace.TotalSeconds:0.###} s after TERM");
    }

    private static string Repeats(long more) => more == 0 ? "" : $" ({more} more since the last such line)";

    [LoggerMessage(EventId = 70, Level = LogLevel.Warning, Message = "{Listener}: client {Peer}: cannot start {Program}: {Why}; client closed{Repeats}")]
    private static partial void CannotStart(ILogger logger, string listener, string peer, string program, string why, string repeats);

    [LoggerMessage(EventId = 71, Level = LogLevel.Warning,
        Message = "{Listener}: maxChildren={Max} programs are running; new clients wait for one to end{Repeats}")]
    private static partial void MaxChildrenReached(ILogger logger, string listener, int max, string repeats);

    [LoggerMessage(EventId = 72, Level = LogLevel.Warning, Message = "{Listener}: pid {Pid} (client {Peer}) stderr: {Line}")]
    private static partial void StderrLine(ILogger logger, string listener, int pid, string peer, string line);

    [LoggerMessage(EventId = 73, Level = LogLevel.Warning,
        Message = "{Listener}: {Count} stderr lines were not logged (at most {PerWindow} per {Window} s)")]
    private static partial void StderrSuppressed(ILogger logger, string listener, long count, int perWindow, double window);
}
