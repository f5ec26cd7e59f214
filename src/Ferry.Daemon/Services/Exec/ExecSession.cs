using Ferry.Daemon.Connections;
using Ferry.Daemon.Transport;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Services.Exec;

/// <summary>
/// A client and its program, bytes copied both ways between the client and ferryd's end of the
/// program's socket (its fd 0 and 1), until the program's output ends; then the program is seen
/// to its end and reaped, and what it left in its process group is ended too.
/// </summary>
/// <remarks>
/// Nothing is lost at either end: the client's FIN becomes EOF on the program's standard input
/// while its output still flows; the program's exit delivers what it wrote, then the client's FIN.
/// Endings: the client gone (reset, or closed by ferryd) closes the program's socket (EOF, and
/// EPIPE on write), then TERM after killGrace; the timeout and ferryd stopping send TERM at once;
/// KILL follows every TERM after killGrace (<see cref="ChildEnding"/>).
/// </remarks>
internal sealed class ExecSession(ServiceConnection client, ChildProcess child, SocketConnection stdio, ExecOptions options)
{
    private bool _timedOut;
    private bool _stopping;

    public async Task<CloseReason> RunAsync(Task stderrRead, SocketConnection? stderr)
    {
        using var ending = new ChildEnding(child, options.KillGrace);
        string grace = $"{options.KillGrace.TotalSeconds:0.###} s";
        var clientSocket = client.Transport as SocketConnection;
        // ferryd closed the client (idle timeout, shutdown deadline): the output direction may be
        // waiting on a silent program, so cut the program's socket to wake it.
        clientSocket?.WhenClosed(static state => ThreadPool.UnsafeQueueUserWorkItem(
            static socket => socket.Reset(new ConnectionAbortedException("the client was closed")), (SocketConnection)state!, preferLocal: false),
            stdio);
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

        Task<DirectionEnd> toChild = PipeCopy.PumpAsync(client.Input, stdio.Transport.Output);
        Task<DirectionEnd> toClient = PipeCopy.PumpAsync(stdio.Transport.Input, client.Output);
        bool clientGone = false;
        bool clientReset = false;
        try
        {
            bool inputSeen = false;
            bool exitSeen = false;
            while (!toClient.IsCompleted)
            {
                await Task.WhenAny(toClient, inputSeen ? toClient : toChild, exitSeen ? toClient : child.Exited);
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
                }
            }
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
        if (_timedOut)
            return CloseReason.ProgramTimeout;
        if (_stopping)
            return CloseReason.Shutdown;
        if (clientGone)
            return clientReset ? CloseReason.PeerReset : CloseReason.Aborted;
        return CloseReason.ServiceDone;
    }

    /// <summary>Standard error ends with the program, unless something it started holds it: then it is cut after killGrace.</summary>
    private async Task FinishStderrAsync(Task stderrRead, SocketConnection? stderr)
    {
        if (stderr is null)
            return;
        try
        {
            await stderrRead.WaitAsync(options.KillGrace);
        }
        catch (TimeoutException)
        {
            stderr.Reset(new ConnectionAbortedException("the program ended; its standard error is held open by something it started"));
            await stderrRead;
        }
    }
}
