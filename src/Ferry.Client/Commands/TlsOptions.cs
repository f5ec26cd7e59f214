using System.CommandLine;
using Ferry.Client.Net;

namespace Ferry.Client.Commands;

/// <summary>The TLS options shared by <c>ferry HOST PORT</c> and <c>ferry listen</c>.</summary>
internal sealed class TlsOptions(bool listening)
{
    private readonly Option<bool> _tls = new("--tls")
    {
        Description = listening
            ? "Speak TLS to each peer, with the certificate of --cert/--key"
            : "Speak TLS; the server's certificate is verified against the system store (or --ca)",
    };

    private readonly Option<string?> _ca = new("--ca")
    {
        Description = listening
            ? "Require each peer to present a client certificate signed by a CA in this PEM file"
            : "Trust only the CA certificates in this PEM file (a private CA) instead of the system store",
        HelpName = "FILE",
    };

    private readonly Option<bool> _insecure = new("--insecure")
    {
        Description = "Do not verify the server's certificate (says so on stderr); for tests only",
    };

    private readonly Option<string?> _cert = new("--cert")
    {
        Description = listening ? "The server's certificate (PEM)" : "A client certificate to present (PEM)",
        HelpName = "FILE",
    };

    private readonly Option<string?> _key = new("--key")
    {
        Description = "The private key of --cert (PEM), if it is not in the --cert file",
        HelpName = "FILE",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_tls);
        command.Options.Add(_ca);
        if (!listening)
            command.Options.Add(_insecure);
        command.Options.Add(_cert);
        command.Options.Add(_key);
    }

    /// <summary>The settings, or null without --tls. Misused options are usage errors (exit 2).</summary>
    public TlsSettings? ToSettings(ParseResult parse)
    {
        var settings = new TlsSettings(parse.GetValue(_ca), !listening && parse.GetValue(_insecure), parse.GetValue(_cert), parse.GetValue(_key));
        if (!parse.GetValue(_tls))
        {
            if (settings.CaFile is not null || settings.Insecure || settings.CertFile is not null || settings.KeyFile is not null)
                throw new CommandFailedException("--ca, --insecure, --cert and --key need --tls", ExitCodes.Usage);
            return null;
        }
        if (settings.Insecure && settings.CaFile is not null)
            throw new CommandFailedException("--insecure and --ca exclude each other", ExitCodes.Usage);
        if (settings.KeyFile is not null && settings.CertFile is null)
            throw new CommandFailedException("--key needs --cert", ExitCodes.Usage);
        return settings;
    }
}
