using System.Globalization;

namespace Ferry.Protocol;

/// <summary>Parses TCP port numbers given on the command line.</summary>
public static class PortNumber
{
    public const int Max = 65535;

    /// <summary>
    /// Accepts plain decimal digits only, so "+80", " 80" and "0x50" are rejected rather
    /// than guessed at.
    /// </summary>
    public static bool TryParse(string text, int minimum, out int port)
    {
        if (text.Length > 0
            && text.All(char.IsAsciiDigit)
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port)
            && port >= minimum
            && port <= Max)
        {
            return true;
        }
        port = 0;
        return false;
    }
}
