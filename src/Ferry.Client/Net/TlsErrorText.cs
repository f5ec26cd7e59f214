using System.Text.RegularExpressions;

namespace Ferry.Client.Net;

/// <summary>Short descriptions of TLS failures for one-line messages.</summary>
internal static partial class TlsErrorText
{
    /// <summary>
    /// The alert the peer sent, when that is what failed ("the server sent TLS alert 'unknown ca'");
    /// otherwise the innermost error's text.
    /// </summary>
    public static string Describe(Exception exception, string peerRole)
    {
        string innermost = exception.GetBaseException().Message.Trim().TrimEnd('.');
        Match alert = PeerAlert().Match(innermost);
        if (alert.Success)
            return $"the {peerRole} sent TLS alert '{alert.Groups["name"].Value}'";
        return innermost.Length > 0 ? char.ToLowerInvariant(innermost[0]) + innermost[1..] : exception.GetType().Name;
    }

    // OpenSSL's words for a received alert, as .NET passes them on:
    // "error:0A000418:SSL routines::tlsv1 alert unknown ca", "...::tlsv13 alert certificate required".
    [GeneratedRegex(@"\b(?:sslv3|tlsv1|tlsv13) alert (?<name>[a-z ]+)$")]
    private static partial Regex PeerAlert();
}
