using System.IO.Pipelines;
using System.Net;
using Ferry.Daemon.Listeners;
using Ferry.Platform.Net;
using Ferry.Protocol;

namespace Ferry.Daemon.Services.Forward;

/// <summary>
/// What a client behind a load balancer said it is: its address and the one it connected to
/// (null: a LOCAL header, the connection's own stand), or why it is refused.
/// </summary>
internal readonly record struct ProxiedClient(IPEndPoint? Source, string? Refusal, IPEndPoint? Destination = null);

/// <summary>
/// Reads the PROXY header a load balancer puts before its client's bytes (<c>acceptProxy=on</c>):
/// only from a peer in <c>proxyFrom</c>, complete within a deadline, well formed; what follows
/// it stays in the input for the upstream.
/// </summary>
internal static class ProxyHeaderReader
{
    public static async ValueTask<ProxiedClient> ReadAsync(PipeReader input, IPEndPoint? peer, AddressRanges trusted, TimeSpan timeout)
    {
        if (peer is null || !trusted.Contains(EndpointText.Unmapped(peer.Address)))
            return new ProxiedClient(null, $"{EndpointText.Format(peer)} is not in proxyFrom");
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                ReadResult read = await input.ReadAsync(deadline.Token);
                var buffer = read.Buffer;
                var header = ProxyHeader.Parse(buffer);
                switch (header.Status)
                {
                    case ProxyHeaderStatus.Incomplete:
                        input.AdvanceTo(buffer.Start, buffer.End);
                        if (read.IsCompleted)
                            return new ProxiedClient(null, "the connection ended before its PROXY header did");
                        continue;
                    case ProxyHeaderStatus.Invalid:
                        input.AdvanceTo(buffer.Start, buffer.End);
                        return new ProxiedClient(null, header.Error);
                    default:
                        input.AdvanceTo(buffer.GetPosition(header.Length));
                        return new ProxiedClient(header.Source, null, header.Destination);
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return new ProxiedClient(null, $"no complete PROXY header within {timeout.TotalSeconds:0.###} s");
        }
    }
}
