using System.Diagnostics.CodeAnalysis;
using System.Net.Sockets;
using System.Text;

namespace Ferry.Client.Net;

/// <summary>
/// The address after <c>-U</c>: a file system path, or <c>@NAME</c> for a socket in Linux's
/// abstract namespace (no file; socat's <c>ABSTRACT-CONNECT:NAME</c>, ferryd's <c>unix:@NAME</c>).
/// Shown as typed.
/// </summary>
internal sealed record UnixSocketAddress
{
    /// <summary>sun_path holds 108 bytes: a path needs a closing NUL, an abstract name a leading one.</summary>
    public const int MaxBytes = 107;

    private UnixSocketAddress(string text) => Text = text;

    public string Text { get; }

    public bool IsAbstract => Text.StartsWith('@');

    /// <summary>The socket file's path; null for an abstract name, which has none.</summary>
    public string? FilePath => IsAbstract ? null : Text;

    /// <summary>The runtime marks an abstract name by a leading NUL and gives it its exact length, as socat does.</summary>
    public UnixDomainSocketEndPoint EndPoint => new(IsAbstract ? "\0" + Text[1..] : Text);

    /// <summary>On failure <paramref name="error"/> is one lower-case sentence suitable after "ferry: ".</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out UnixSocketAddress? address, out string error)
    {
        address = null;
        string name = text.StartsWith('@') ? text[1..] : text;
        if (text.Length == 0)
            error = "the Unix socket path must not be empty";
        else if (name.Length == 0)
            error = "the abstract socket name after '@' must not be empty";
        else if (text.Contains('\0', StringComparison.Ordinal))
            error = "a Unix socket path cannot contain a NUL character";
        else if (Encoding.UTF8.GetByteCount(name) > MaxBytes)
            error = $"the Unix socket path '{text}' is longer than {MaxBytes} bytes";
        else
        {
            address = new UnixSocketAddress(text);
            error = string.Empty;
            return true;
        }
        return false;
    }

    public override string ToString() => Text;
}
