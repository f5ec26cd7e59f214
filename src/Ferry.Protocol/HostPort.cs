using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Ferry.Protocol;

/// <summary>
/// An <c>[ADDR:]PORT</c> to listen on, as both tools take it (<c>ferry listen</c>, ferryd's
/// listeners). <see cref="Host"/> is null when no address (or <c>*</c>) was given: every
/// interface; otherwise it is an IPv4 literal, an IPv6 literal without its brackets, or a
/// host name. <see cref="Port"/> 0 asks the system for a free port.
/// </summary>
public sealed record HostPort(string? Host, int Port)
{
    /// <summary>
    /// Parses <c>PORT</c>, <c>ADDR:PORT</c> or <c>[IPV6]:PORT</c>. On failure
    /// <paramref name="error"/> is one lower-case sentence suitable after "ferry: ".
    /// </summary>
    public static bool TryParse(
        string text, [NotNullWhen(true)] out HostPort? address, out string error)
    {
        address = null;
        if (!TrySplit(text, out string? host, out string portText, out error))
            return false;
        if (!PortNumber.TryParse(portText, minimum: 0, out int port))
        {
            error = $"invalid port '{portText}' (must be 0-{PortNumber.Max})";
            return false;
        }
        address = new HostPort(host, port);
        error = string.Empty;
        return true;
    }

    /// <summary>The address as it would be typed, IPv6 in brackets.</summary>
    public override string ToString() => Host switch
    {
        null => Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ when Host.Contains(':', StringComparison.Ordinal) => $"[{Host}]:{Port}",
        _ => $"{Host}:{Port}",
    };

    private static bool TrySplit(string text, out string? host, out string portText, out string error)
    {
        host = null;
        portText = text;
        error = string.Empty;

        if (text.StartsWith('['))
            return TrySplitBracketed(text, out host, out portText, out error);

        int colon = text.LastIndexOf(':');
        if (colon < 0)
            return true;
        if (text.IndexOf(':', StringComparison.Ordinal) != colon)
        {
            error = $"invalid address '{text}': put an IPv6 address in brackets, e.g. [::1]:8080";
            return false;
        }
        string name = text[..colon];
        portText = text[(colon + 1)..];
        if (name == "*")
            return true;
        if (name.Length == 0)
        {
            error = $"missing address before ':' in '{text}'";
            return false;
        }
        if (!name.All(IsHostNameCharacter))
        {
            error = $"invalid address '{name}'";
            return false;
        }
        host = name;
        return true;
    }

    private static bool TrySplitBracketed(string text, out string? host, out string portText, out string error)
    {
        host = null;
        portText = string.Empty;
        int close = text.IndexOf(']', StringComparison.Ordinal);
        if (close < 0)
        {
            error = $"missing ']' in '{text}'";
            return false;
        }
        string literal = text[1..close];
        if (!IPAddress.TryParse(literal, out IPAddress? parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6)
        {
            error = $"invalid IPv6 address '[{literal}]'";
            return false;
        }
        string rest = text[(close + 1)..];
        if (!rest.StartsWith(':'))
        {
            error = $"missing ':PORT' after '[{literal}]'";
            return false;
        }
        host = literal;
        portText = rest[1..];
        error = string.Empty;
        return true;
    }

    // Letters, digits, '.', '-' and '_' cover IPv4 literals and DNS names; anything else
    // (spaces, '/', '@') is a typo that would only come back as a confusing lookup failure.
    private static bool IsHostNameCharacter(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_';
}
