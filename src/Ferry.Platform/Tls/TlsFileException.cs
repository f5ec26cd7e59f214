namespace Ferry.Platform.Tls;

/// <summary>A certificate, key or CA file that cannot be used; the message is one line naming the file and why.</summary>
public sealed class TlsFileException(string message) : Exception(message);
