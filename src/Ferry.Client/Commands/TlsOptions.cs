using System.CommandLine;
using System.CommandLine.Parsing;
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
        // Checked while parsing, so a misuse is reported like any other usage error (exit 2,
        // with the usage line) before anything is connected or listened on.
        command.Validators.Add(Validate);
    }

    /// <summary>The settings, or null without --tls.</summary>
    public TlsSettings? ToSettings(ParseResult parse) =>
        parse.GetValue(_tls)
            ? new TlsSettings(parse.GetValue(_ca), !listening && parse.GetValue(_insecure), parse.GetValue(_cert), parse.GetValue(_key))
            : null;

    /// <summary>Whether --tls was given, for the command's own checks (-u refuses it).</summary>
    public bool Requested(CommandResult result) => result.GetValue(_tls);

    private void Validate(CommandResult result)
    {
        string? ca = result.GetValue(_ca);
        bool insecure = !listening && result.GetValue(_insecure);
        string? cert = result.GetValue(_cert);
        string? key = result.GetValue(_key);
        if (!result.GetValue(_tls))
        {
            if (ca is not null || insecure || cert is not null || key is not null)
                result.AddError(listening ? "--ca, --cert and --key need --tls" : "--ca, --insecure, --cert and --key need --tls");
        }
        else if (insecure && ca is not null)
            result.AddError("--insecure and --ca exclude each other");
        else if (key is not null && cert is null)
            result.AddError("--key needs --cert");
        else if (listening && cert is null)
            result.AddError("listen --tls needs --cert FILE (and --key FILE unless the key is in it)");
    }
}
