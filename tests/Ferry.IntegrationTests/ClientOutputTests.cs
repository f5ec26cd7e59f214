using System.Net;
using System.Net.Sockets;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// ferry's stdout failing under it, set up by a real shell: a reader that goes away
/// (<c>| head -c 10</c>), a closed descriptor (<c>&gt;&amp;-</c>) and a full device
/// (<c>&gt;/dev/full</c>). Each must be one line on stderr naming stdout and the cause, exit 1.
/// </summary>
public sealed class ClientOutputTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    public static TheoryData<string, string> BrokenOutputs => new()
    {
        // head exits after 10 bytes; ferry's next write finds no reader.
        { "| head -c 10 > /dev/null", "broken pipe" },
        { ">&-", "bad file descriptor" },
        { "> /dev/full", "no space left on device" },
    };

    [Theory]
    [MemberData(nameof(BrokenOutputs))]
    public async Task ConnectSaysWhyItCannotWriteToStdout(string redirection, string cause)
    {
        using var server = EndlessSender.Start();
        await using var shell = StartInShell(redirection, "127.0.0.1", server.Port.ToString());

        Assert.Equal(1, await shell.WaitForExitAsync(Generous));
        Assert.Equal($"ferry: cannot write to stdout: {cause}", shell.StandardError.Trim());
    }

    [Theory]
    [MemberData(nameof(BrokenOutputs))]
    public async Task ListenSaysWhyItCannotWriteToStdout(string redirection, string cause)
    {
        await using var shell = StartInShell(redirection, "listen", "127.0.0.1:0");
        string listening = await shell.ReadStderrLineAsync(TimeSpan.FromSeconds(15));
        Assert.StartsWith("listening ", listening);
        using var peer = await Loopback.ConnectAsync(IPEndPoint.Parse(listening["listening ".Length..]).Port);
        using var stop = new CancellationTokenSource(Generous);
        Task sending = EndlessSender.SendUntilClosedAsync(peer, stop.Token);

        Assert.Equal(1, await shell.WaitForExitAsync(Generous));
        string[] lines = shell.StandardError.Trim().Split('\n');
        Assert.StartsWith("connection from 127.0.0.1:", lines[^2]);
        Assert.Equal($"ferry: cannot write to stdout: {cause}", lines[^1]);
        await stop.CancelAsync();
        await sending;
    }

    /// <summary>
    /// Runs ferry under bash with its stdout redirected as given; the exit code is ferry's
    /// (PIPESTATUS), its stderr the shell's.
    /// </summary>
    private static RunningProcess StartInShell(string redirection, params string[] ferryArguments) =>
        RunningProcess.Start("/bin/bash",
            ["-c", $"\"$0\" \"$@\" {redirection}; exit \"${{PIPESTATUS[0]}}\"", Binaries.Ferry, .. ferryArguments]);

    /// <summary>A loopback server that sends to its one client until the client goes away.</summary>
    private sealed class EndlessSender : IDisposable
    {
        private readonly Socket _listener;
        private readonly CancellationTokenSource _stop = new(Generous);

        private EndlessSender()
        {
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(1);
            _ = ServeAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public static EndlessSender Start() => new();

        public static async Task SendUntilClosedAsync(Socket socket, CancellationToken cancellationToken)
        {
            byte[] chunk = new byte[16 * 1024];
            Array.Fill(chunk, (byte)'x');
            try
            {
                while (true)
                    await socket.SendAsync(chunk, SocketFlags.None, cancellationToken);
            }
            catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client has gone (or the test is over): that is the end of it.
            }
        }

        private async Task ServeAsync()
        {
            try
            {
                using Socket client = await _listener.AcceptAsync(_stop.Token);
                await SendUntilClosedAsync(client, _stop.Token);
            }
            catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Dispose();
            _stop.Dispose();
        }
    }
}
