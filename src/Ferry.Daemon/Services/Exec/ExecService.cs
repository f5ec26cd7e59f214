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
internal sealed partial class ExecService : IConnectionService
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
        if (_options.Account is null)
            _arguments[0] = _options.Command;
        _startFailures = new RepeatWindow(context.Time, RepeatedWarningWindow);
        _full = new RepeatWindow(context.Time, RepeatedWarningWindow);
        _stderrBudget = new LineBudget(context.Time, RepeatedWarningWindow, StderrLinesPerWindow,
            count => StderrSuppressed(_logger, _listener, count, StderrLinesPerWindow, RepeatedWarningWindow.TotalSeconds));
    }

    public async ValueTask<CloseReason> RunAsync(ServiceConnection client)
    {
        if (!_slots.Wait(0))
        {
            if (_full.ShouldLog(out long more))
                MaxChildrenReached(_logger, _listener, _options.MaxChildren, Repeats(more));
            try
            {
                await _slots.WaitAsync(client.Stopping);
            }
            catch (OperationCanceledException)
            {
                return CloseReason.Shutdown;
            }
        }
        else
        {
            _full.Reset();
        }
        try
        {
            return await ServeAsync(client);
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task<CloseReason> ServeAsync(ServiceConnection client)
    {
        var socket = client.Transport as SocketConnection;
        EpollLoop loop = socket?.Loop ?? EpollLoop.Next();
        var remote = client.Transport?.RemoteEndPoint as IPEndPoint;
        var local = client.Transport?.LocalEndPoint as IPEndPoint;
        // posix_spawn holds its thread until the program has exec'd: a thread-pool thread, never a socket thread.
        string? failure = null;
        var launched = await Task.Run(() => Launch(client, remote, local, loop, out failure));
        if (launched is not var (child, stdio, stderr))
        {
            client.CloseDetail = $"{_options.Command} not started: {failure}";
            return CloseReason.ProgramNotStarted;
        }
        _startFailures.Reset();
        StderrLog? stderrLog = null;
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
        CloseReason reason;
        try
        {
            reason = await new ExecSession(client, child, stdio, _options).RunAsync(stderrRead, stderr);
        }
        finally
        {
            await EndAsync(child, stdio, stderr);
        }
        var exit = child.Exit;
        string detail = $"pid {child.Pid} {exit} after {Environment.TickCount64 - child.StartedAt} ms";
        if (child.SignalledBecause is { } signalled)
            detail += $" ({signalled})";
        if (exit.Failed && stderrLog?.LastLine is { } last)
            detail += $"; last stderr: {last}";
        client.CloseDetail = detail;
        return reason;
    }

    /// <summary>
    /// The program started with its sockets, and ferryd's ends of them registered with the
    /// client's loop; or null and why (logged once per episode).
    /// </summary>
    private (ChildProcess Child, SocketConnection Stdio, SocketConnection? Stderr)? Launch(ServiceConnection client, IPEndPoint? remote,
        IPEndPoint? local, EpollLoop loop, out string? failure)
    {
        int stdioOurs = -1, stdioTheirs = -1, stderrOurs = -1, stderrTheirs = -1;
        ChildProcess? child = null;
        try
        {
            int error = SocketCalls.OpenPair(out stdioOurs, out stdioTheirs);
            if (error == 0 && _options.Stderr == StderrMode.Log)
                error = SocketCalls.OpenPair(out stderrOurs, out stderrTheirs);
            if (error != 0)
                return Failed($"socketpair: {Errno.Describe(error)}", client, out failure);
            var stderrMode = _options.Stderr switch
            {
                StderrMode.Log => ChildStderr.Descriptor,
                StderrMode.Socket => ChildStderr.SameAsOutput,
                _ => ChildStderr.Discarded,
            };
            error = ChildSpawn.Start(_path, _arguments, _environment.For(remote, local), _options.Directory, stdioTheirs, stderrMode,
                stderrTheirs, out int pid);
            if (error != 0)
                return Failed(DescribeStartFailure(error), client, out failure);
            child = ChildProcess.Watch(pid, loop, out error);
            if (child is null)
                return Failed($"pidfd_open: {Errno.Describe(error)} (Linux 5.3 or later is needed)", client, out failure);
            SocketConnection? stdio = null;
            SocketConnection? stderr = null;
            try
            {
                stdio = Register(ref stdioOurs, loop);
                stderr = stderrOurs >= 0 ? Register(ref stderrOurs, loop) : null;
            }
            catch (IOException ex)
            {
                stdio?.Reset(new Microsoft.AspNetCore.Connections.ConnectionAbortedException(ex.Message));
                return Failed(ex.Message, client, out failure);
            }
            failure = null;
            var launched = (child, stdio!, stderr);
            child = null;
            return launched;
        }
        finally
        {
            // The program holds its ends now (or never will): ours are only ferryd's.
            Close(stdioTheirs);
            Close(stderrTheirs);
            Close(stdioOurs);
            Close(stderrOurs);
            if (child is not null)
            {
                child.SignalGroup(SignalNumber.Kill, "because its sockets could not be set up");
                child.Reap();
                child.Dispose();
            }
        }
    }

    private static SocketConnection Register(ref int descriptor, EpollLoop loop)
    {
        var connection = new SocketConnection(descriptor, loop, BlockPool.Default, PipeScheduler.Inline);
        descriptor = -1; // the connection owns it now
        try
        {
            connection.Start();
        }
        catch (IOException ex)
        {
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

    private (ChildProcess, SocketConnection, SocketConnection?)? Failed(string why, ServiceConnection client, out string? failure)
    {
        failure = why;
        if (_startFailures.ShouldLog(out long more))
            CannotStart(_logger, _listener, client.Peer, _options.Command, why, Repeats(more));
        return null;
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
    private async Task EndAsync(ChildProcess child, SocketConnection stdio, SocketConnection? stderr)
    {
        if (!child.HasExited)
        {
            // Only after an error in the session: it saw to the ending otherwise.
            child.SignalGroup(SignalNumber.Kill, "because its session failed");
            await child.Exited;
        }
        child.Reap();
        child.Dispose();
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
