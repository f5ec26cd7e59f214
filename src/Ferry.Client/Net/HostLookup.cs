using System.Net;
using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>Turns a host given on the command line into IP addresses.</summary>
internal static class HostLookup
{
    /// <summary>Removes the brackets of an IPv6 literal such as <c>[::1]</c>.</summary>
    public static string Unbracket(string host) =>
        host.Length >= 2 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;

    /// <summary>
    /// Returns the literal itself, or every address the name resolves to, in resolver order.
    /// Failures surface as <see cref="SocketException"/>; an empty answer is reported as
    /// <see cref="SocketError.HostNotFound"/> so callers have one failure shape.
    /// </summary>
    public static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        string bare = Unbracket(host);
        if (IPAddress.TryParse(bare, out IPAddress? literal))
            return [literal];

        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(bare, cancellationToken);
        }
        catch (ArgumentException)
        {
            // Over-long or malformed names are rejected before any query is sent.
            throw new SocketException((int)SocketError.HostNotFound);
        }
        if (addresses.Length == 0)
            throw new SocketException((int)SocketError.HostNotFound);
        return addresses;
    }

    /// <summary>
    /// <see cref="ResolveAsync"/> for a client about to connect: a failure is a
    /// <see cref="CommandFailedException"/> naming the host as the user typed it ("nowhere: unknown host").
    /// </summary>
    public static async Task<IPAddress[]> ResolveForConnectAsync(string host, CancellationToken cancellationToken)
    {
        try
        {
            return await ResolveAsync(host, cancellationToken);
        }
        catch (SocketException exception)
        {
            throw new CommandFailedException($"{host}: {SocketErrorText.Describe(exception)}");
        }
    }
}
