using System.Net;
using Ferry.Daemon.Listeners;

namespace Ferry.Tests;

/// <summary>The tests' peers are addresses; admission takes the endpoint a socket gives and counts a source.</summary>
internal static class PeerAddresses
{
    public static AdmissionVerdict Decide(this Admission admission, IPAddress peer, long descriptor, long open, bool descriptorsShort = false) =>
        admission.Decide(new IPEndPoint(peer, 40_000), descriptor, open, descriptorsShort);

    public static RefusalReason? TryOpen(this SourceLimits limits, IPAddress source) => limits.TryOpen(PeerSource.Of(source));

    public static void Close(this SourceLimits limits, IPAddress source) => limits.Close(PeerSource.Of(source));
}
