using Ferry.Daemon.Connections;
using Ferry.Daemon.Transport;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Services.Exec;

/// <summary>
/// A client and its program, bytes copied both ways between the client and ferryd's end of the
/// program's socket (its fd 0 and 1), until the program's output ends; returns once the program
/// has exited (not yet reaped: <see cref="ExecService"/> does that, and ends what it left).
/// </summary>
/// <remarks>
/// Nothing is lost at either end: the client's FIN becomes EOF on the program's standard input
/// while its output still flows; the program's exit delivers what it wrote, then the client's FIN.
/// Endings: the client gone (reset, or closed by ferryd) closes the program's socket (EOF, and
/// EPIPE on write), then TERM after killGrace; the timeout and ferryd stopping send TERM at once;
/// KILL follows every TERM after killGrace (<see cref="ChildEnding"/>). Output still held open
/// after the program exited (by something it started, maybe in a session of its own) gets its
/// process group TERM and KILL, and is cut after both had their killGrace.
/// </remarks>
internal sealed class ExecSession(ServiceConnection client, ChildProcess child, SocketConnection stdio, ExecOptions options)
    : IConnectionDescription
{
    /// <summary>After the program exited, how long its output may stay open beyond TERM and KILL to its group.</summary>
    private static readonly TimeSpan OutputCutMargin = TimeSpan.FromSeconds(1);

    /// <summary>At least this long for the last of standard error to arrive after the program exited, whatever killGrace.</summary>
    private static readonly TimeSpan StderrDrainMinimum = TimeSpan.FromSeconds(1);

    private volatile bool _timedOut;
    private volatile bool _stopping;

    /// <summary>The program's output was still open this long after it exited, and was cut.</summary>
    public bool OutputCut { get; private set; }

    int? IConnectionDescription.ChildPid => child.Pid;

    public TimeSpan OutputCutAfter => 2 * options.KillGrace + OutputCutMargin;

    public async Task<CloseReason> RunAsync(Task stderrRead, SocketConnection? stderr)
    {
        using var ending = new ChildEnding(child, options.KillGrace);
        string grace = $"{options.KillGrace.TotalSeconds:0.###} s";
        var clientSocket = client.Transport as SocketConnection;
        // ferryd closed the client (idle timeout, shutdown deadline): the output direction may be
        // waiting on a silent program, so cut the program's socket to wake it.
        clientSocket?.ResetWhenClosed(stdio);
        using var timeout = options.Timeout > TimeSpan.Zero ? new CancellationTokenSource(options.Timeout) : null;
        using var onTimeout = timeout?.Token.UnsafeRegister(_ =>
        {
            _timedOut = true;
            ending.TerminateAfter(TimeSpan.Zero, $"after timeout {options.Timeout.TotalSeconds:0.###} s");
        }, null);
        using var onStopping = client.Stopping.UnsafeRegister(_ =>
        {
            _stopping = true;
            ending.TerminateAfter(TimeSpan.Zero, "because ferryd is stopping");
        }, null);
        using var outputCut = new CancellationTokenSource();

        Task<DirectionEnd> toChild = PipeCopy.PumpAsync(client.Input, stdio.Transport.Output);
        Task<DirectionEnd> toClient = PipeCopy.PumpAsync(stdio.Transport.Input, client.Output);
        Task cutDue = Task.Delay(Timeout.Infinite, outputCut.Token);
        bool clientGone = false;
        bool clientReset = false;
        bool timedOut;
        bool stopping;
        try
        {
            bool inputSeen = false;
            bool exitSeen = false;
            while (!toClient.IsCompleted)
            {
                await Task.WhenAny(toClient, inputSeen ? toClient : toChild, exitSeen ? cutDue : child.Exited);
                if (!inputSeen && toChild.IsCompleted)
                {
                    inputSeen = true;
                    // Finished: the client's FIN is EOF on the program's stdin, its output goes on.
                    // DestinationGone: the program stopped reading; its output still goes to the client.
                    if (await toChild is DirectionEnd.SourceReset or DirectionEnd.Aborted)
                    {
                        clientGone = true;
                        clientReset = await toChild == DirectionEnd.SourceReset;
                        stdio.Reset(new ConnectionAbortedException("the client is gone"));
                    }
                }
                if (!exitSeen && child.HasExited)
                {
                    exitSeen = true;
                    // Its output is normally complete a moment later; something it started may still hold it.
                    ending.TerminateAfter(options.KillGrace, $"to its process group, killGrace {grace} after it exited with its output still open");
                    cutDue = Task.Delay(OutputCutAfter, outputCut.Token);
                }
                else if (exitSeen && cutDue.IsCompleted && !OutputCut)
                {
                    // Held open even past KILL (by a process in a session of its own): what was written is read, then end.
                    OutputCut = true;
                    stdio.StopReceiving();
                    cutDue = toClient;
                }
            }
            // Decided here: a timeout or a stop that comes while the program is being ended below does not change why.
            timedOut = _timedOut;
            stopping = _stopping;
            switch (await toClient)
            {
                case DirectionEnd.SourceReset:
                    // The program's socket reset under its last bytes: what arrived was passed on; now our FIN.
                    await client.Output.CompleteAsync();
                    break;
                case DirectionEnd.DestinationGone:
                    clientGone = true;
                    clientReset = true;
                    break;
                case DirectionEnd.Aborted:
                    // The program's socket was cut because the client went, or the client was closed by ferryd.
                    clientGone = true;
                    break;
            }
        }
        finally
        {
            outputCut.Cancel();
            clientSocket?.ForgetWhenClosed();
            // Nothing more goes either way: the program's stdin reaches EOF, its writes fail.
            client.Input.CancelPendingRead();
            stdio.Reset(new ConnectionAbortedException("the program's output ended"));
            await toChild;
            if (!child.HasExited)
                ending.TerminateAfter(options.KillGrace, clientGone ? $"killGrace {grace} after the client left" : $"killGrace {grace} after it closed its output");
            await child.Exited;
            await FinishStderrAsync(stderrRead, stderr);
        }
        if (timedOut)
            return CloseReason.ProgramTimeout;
        if (stopping)
            return CloseReason.Shutdown;
        if (clientGone)
            return clientReset ? CloseReason.PeerReset : CloseReason.Aborted;
        return CloseReason.ServiceDone;
    }

    /// <summary>
    /// Standard error ends with the program, unless something it started holds it: then, after
    /// killGrace (at least a second), what was written is read and the rest is refused.
    /// </summary>
    private async Task FinishStderrAsync(Task stderrRead, SocketConnection? stderr)
    {
        if (stderr is null)
            return;
        try
        {
            await stderrRead.WaitAsync(options.KillGrace > StderrDrainMinimum ? options.KillGrace : StderrDrainMinimum);
        }
        catch (TimeoutException)
        {
            stderr.StopReceiving();
            await stderrRead;
        }
    }
}
