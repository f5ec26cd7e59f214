using System.CommandLine.Parsing;
using Ferry.Client.Net;

namespace Ferry.Client.Commands;

/// <summary>Parses the PATH of <c>-U</c> for <c>ferry</c> and <c>ferry listen</c>: a malformed one is a usage error.</summary>
internal static class UnixSocketArgument
{
    public static UnixSocketAddress? Parse(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (UnixSocketAddress.TryParse(text, out UnixSocketAddress? address, out string error))
            return address;
        result.AddError(error);
        return null;
    }
}
