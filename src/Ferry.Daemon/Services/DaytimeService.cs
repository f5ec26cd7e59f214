using System.Globalization;
using System.Text;
using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Services;

/// <summary>
/// RFC 867 daytime: one line with the local date and time, then close. The RFC leaves the
/// format open; ours is RFC 1123-like with a numeric UTC offset, e.g.
/// "Thu, 26 Nov 2026 03:11:28 +00:00", ended by CRLF. Over UDP any datagram is answered with
/// one datagram holding that line.
/// </summary>
internal sealed class DaytimeService(TimeProvider time) : IConnectionService, IDatagramService
{
    public const string Format = "ddd, dd MMM yyyy HH:mm:ss zzz";

    public int Answer(Span<byte> datagram, int length, DatagramPeer peer) =>
        Encoding.ASCII.GetBytes(time.GetLocalNow().ToString(Format, CultureInfo.InvariantCulture) + "\r\n", datagram);

    public async ValueTask<CloseReason> RunAsync(ServiceConnection connection)
    {
        string line = time.GetLocalNow().ToString(Format, CultureInfo.InvariantCulture) + "\r\n";
        int written = Encoding.ASCII.GetBytes(line, connection.Output.GetSpan(line.Length));
        connection.Output.Advance(written);
        var flush = await connection.Output.FlushAsync(connection.Stopping);
        return flush.IsCompleted ? CloseReason.PeerReset : CloseReason.ServiceDone;
    }
}
