using System.IO.Pipelines;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Transport;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Services.Forward;

/// <summary>
/// A client and its upstream, bytes copied both ways until both directions are done.
/// </summary>
/// <remarks>
/// Each direction is one loop: read what the source has (one receive, at most 16 KiB), write
/// it to the destination and flush, which waits while the destination holds more than
/// <see cref="SocketWriter.PauseBytes"/> unsent; so a slow reader on either side slows its
/// writer through TCP's window, and a pair holds at most about 2 × (64 + 128) KiB.
/// A FIN is passed on as a FIN (half-close), after which the other direction may go on for
/// finTimeout; a reset is passed on as a reset.
/// </remarks>
/// <param name="upstreamPipes">The upstream's bytes: its transport, or a TLS session over it.</param>
internal sealed class ForwardPair(ServiceConnection client, SocketConnection upstream, IDuplexPipe upstreamPipes, TimeSpan finTimeout)
{
    /// <summary>Who ended first, for the close line: "client closed first", "upstream reset first", ...</summary>
    public string Ending { get; private set; } = "";

    public async Task<CloseReason> RunAsync()
    {
        // The client closed under the pair (idle timeout, the shutdown deadline): the loops may both
        // be waiting on the upstream (one for room to write, one for bytes), so cut it to wake them.
        var clientSocket = client.Transport as SocketConnection;
        clientSocket?.ResetWhenClosed(upstream);
        Task<DirectionEnd> toUpstream = PipeCopy.PumpAsync(client.Input, upstreamPipes.Output);
        Task<DirectionEnd> toClient = PipeCopy.PumpAsync(upstreamPipes.Input, client.Output);
        try
        {
            Task<DirectionEnd> first = await Task.WhenAny(toUpstream, toClient);
            bool clientFirst = first == toUpstream;
            Task<DirectionEnd> other = clientFirst ? toClient : toUpstream;
            DirectionEnd end = await first;
            if (end != DirectionEnd.Finished)
                return await Settle(clientFirst, end, other);

            string side = clientFirst ? "client" : "upstream";
            Ending = $"{side} closed first";
            if (!other.IsCompleted)
            {
                try
                {
                    await other.WaitAsync(finTimeout);
                }
                catch (TimeoutException)
                {
                    Ending = $"{side} closed first, the other side did not within finTimeout {finTimeout.TotalSeconds:0.###} s";
                    CutBoth();
                    await other;
                    return CloseReason.FinTimeout;
                }
            }
            DirectionEnd otherEnd = await other;
            return otherEnd == DirectionEnd.Finished ? CloseReason.PeerClosed : await Settle(!clientFirst, otherEnd);
        }
        catch
        {
            // A bug in one loop must not leave the other waiting for ever.
            CutBoth();
            await Task.WhenAll(toUpstream, toClient).ContinueWith(static _ => { }, TaskScheduler.Default);
            throw;
        }
        finally
        {
            clientSocket?.ForgetWhenClosed();
        }
    }

    /// <summary>A direction that ended other than by a FIN decides the pair's ending: resets go on as resets.</summary>
    private async Task<CloseReason> Settle(bool clientFirst, DirectionEnd end, Task<DirectionEnd>? other = null)
    {
        string side = clientFirst ? "client" : "upstream";
        string what;
        CloseReason reason;
        switch (end)
        {
            case DirectionEnd.SourceReset:
                // The reset side is the source: pass it on to the other side.
                what = $"{side} reset";
                reason = clientFirst ? CloseReason.PeerReset : CloseReason.UpstreamReset;
                break;
            case DirectionEnd.DestinationGone:
                // The destination of that direction reset: the other side of the pair.
                what = $"{(clientFirst ? "upstream" : "client")} reset";
                reason = clientFirst ? CloseReason.UpstreamReset : CloseReason.PeerReset;
                break;
            default:
                what = "closed by ferryd";
                reason = CloseReason.Aborted;
                break;
        }
        // After a half-close this came second.
        Ending = Ending.Length == 0 ? (reason == CloseReason.Aborted ? what : what + " first") : $"{Ending}, then {what}";
        // Closed by ferryd too (a timeout, the shutdown deadline): a FIN would pass a cut stream off as complete.
        CutBoth();
        if (other is not null)
            await other;
        return reason;
    }

    /// <summary>Resets both sides: neither may take the end of a cut stream for a complete one.</summary>
    private void CutBoth()
    {
        upstream.Reset(new ConnectionAbortedException("the other side of the pair was cut"));
        client.Abort();
    }
}
