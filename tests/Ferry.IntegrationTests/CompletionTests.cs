using System.Text.RegularExpressions;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// The completion scripts contrib/completion/generate.sh writes from the built programs
/// (their hidden --completion option), driven in a real bash the way bash's programmable
/// completion calls them: COMP_LINE and COMP_POINT set, the function that `complete -p`
/// names run, COMPREPLY read back. zsh and fish must parse their scripts; fish completes a
/// listener with `complete -C`, zsh in an interactive shell under tmux. Without zsh, fish or
/// tmux those tests fail under FERRY_REQUIRE_TOOLS=1 (apt: zsh fish tmux).
/// </summary>
public sealed partial class CompletionTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task GenerateShWritesAllSixScripts()
    {
        using var dir = new TempDirectory();
        await GenerateAsync(dir);
        foreach (string name in new[] { "ferryd.bash", "ferry.bash", "_ferryd", "_ferry", "ferryd.fish", "ferry.fish" })
            Assert.True(new FileInfo(dir.File(name)) is { Exists: true, Length: > 0 }, $"generate.sh wrote no {name}");
        Assert.StartsWith("#compdef ferryd", File.ReadAllText(dir.File("_ferryd")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BashCompletesALongOptionFromItsPrefix()
    {
        Assert.Equal(["--listen"], await BashCompleteAsync("ferryd", "ferryd --li"));
    }

    [Fact]
    public async Task BashOffersEveryServiceAfterTheEqualsOfAListener()
    {
        // The names ferryd's own --help gives for SERVICE, which it takes from its service catalog.
        string[] services = await HelpListAsync(@"SERVICE: ([a-z, ]+) \(default");
        Assert.Contains("forward", services);

        string[] offered = await BashCompleteAsync("ferryd", "ferryd --listen 7=");
        Assert.Equal(services.Order(), offered.Order());
        Assert.Contains("chat", offered);
        Assert.Equal(services.Order(), (await BashCompleteAsync("ferryd", "ferryd start -l 127.0.0.1:7=")).Order());
        Assert.Equal(["echo"], await BashCompleteAsync("ferryd", "ferryd --listen=7=ec"));
    }

    [Fact]
    public async Task BashOffersOnlyDatagramServicesAfterUdp()
    {
        string[] datagram = await HelpListAsync(@"udp:\[ADDR:\]PORT for UDP \(([a-z, ]+)\)");
        string[] offered = await BashCompleteAsync("ferryd", "ferryd --listen udp:7=");
        Assert.Equal(datagram.Order(), offered.Order());
        Assert.DoesNotContain("chat", offered);
    }

    [Fact]
    public async Task BashCompletesSubcommandsByPrefix()
    {
        Assert.Equal(["start", "status"], (await BashCompleteAsync("ferryd", "ferryd sta")).Order());
    }

    [Fact]
    public async Task BashOffersLogLevelsAfterTheOptionAndItsEquals()
    {
        string[] levels = ["debug", "error", "fatal", "info", "warning"];
        Assert.Equal(levels, (await BashCompleteAsync("ferryd", "ferryd start --log-level ")).Order());
        Assert.Equal(["warning"], await BashCompleteAsync("ferryd", "ferryd --log-level=w"));
    }

    [Fact]
    public async Task BashTakesAnOptionsValueForAValueNotASubcommand()
    {
        // "start" is --config's file here, so the options are still the root's: --version is the root's only.
        Assert.Contains("--version", await BashCompleteAsync("ferryd", "ferryd --config start --"));
        Assert.DoesNotContain("--version", await BashCompleteAsync("ferryd", "ferryd start --"));
    }

    [Fact]
    public async Task BashListsListensOptionsForFerryListen()
    {
        string[] offered = await BashCompleteAsync("ferry", "ferry listen --");
        foreach (string option in new[] { "--keep-open", "--udp", "--unix", "--tls", "--cert", "--key", "--ca", "--help" })
            Assert.Contains(option, offered);
        // The root's, not listen's.
        Assert.DoesNotContain("--timeout", offered);
        Assert.DoesNotContain("--insecure", offered);
    }

    [Fact]
    public async Task BashCompletesFerryBenchFromFerryBenchsOwnDefinitions()
    {
        string[] options = await BashCompleteAsync("ferry", "ferry bench --");
        foreach (string option in new[] { "--mode", "--engine", "--conns", "--duration", "--udp", "--unix", "--json" })
            Assert.Contains(option, options);
        Assert.Equal(["bulk", "chat", "connect", "idle", "pingpong"], (await BashCompleteAsync("ferry", "ferry bench 127.0.0.1 7 --mode ")).Order());
        Assert.Equal(["async", "auto", "epoll", "threads"], (await BashCompleteAsync("ferry", "ferry bench -m bulk --engine ")).Order());
    }

    [Fact]
    public async Task TheCompletionOptionIsNotInHelpAndRejectsAMissingOrUnknownShell()
    {
        foreach (string program in new[] { Binaries.Ferryd, Binaries.Ferry, Binaries.FerryBench })
        {
            var help = await ToolRun.RunAsync(program, ["--help"], timeout: Limit);
            Assert.Equal(0, help.ExitCode);
            Assert.DoesNotContain("--completion", help.StdoutText, StringComparison.Ordinal);

            var unknown = await ToolRun.RunAsync(program, ["--completion", "tcsh"], timeout: Limit);
            Assert.Equal(2, unknown.ExitCode);
            Assert.Contains("unknown shell 'tcsh'", unknown.Stderr, StringComparison.Ordinal);

            var missing = await ToolRun.RunAsync(program, ["--completion"], timeout: Limit);
            Assert.Equal(2, missing.ExitCode);
            Assert.Equal($"{Path.GetFileName(program)}: --completion needs a shell: bash, zsh or fish", missing.Stderr.Trim());
        }
    }

    [Fact]
    public async Task ZshParsesBothScripts()
    {
        string zsh = ExternalTool.Require("zsh");
        using var dir = new TempDirectory();
        await GenerateAsync(dir);
        foreach (string name in new[] { "_ferryd", "_ferry" })
        {
            var check = await ToolRun.RunAsync(zsh, ["-n", dir.File(name)], timeout: Limit);
            Assert.True(check.ExitCode == 0, $"zsh -n {name}: {check.Stderr}");
        }
    }

    [Fact]
    public async Task FishParsesBothScriptsAndCompletesAListener()
    {
        string fish = ExternalTool.Require("fish");
        using var dir = new TempDirectory();
        await GenerateAsync(dir);
        foreach (string name in new[] { "ferryd.fish", "ferry.fish" })
        {
            var check = await ToolRun.RunAsync(fish, ["--no-execute", dir.File(name)], timeout: Limit);
            Assert.True(check.ExitCode == 0, $"fish --no-execute {name}: {check.Stderr}");
        }

        var listener = await ToolRun.RunAsync(fish,
            ["--no-config", "-c", "source $argv[1]; complete -C 'ferryd --listen 7='; complete -C 'ferryd sta'", dir.File("ferryd.fish")],
            timeout: Limit);
        Assert.True(listener.ExitCode == 0, listener.Stderr);
        string[] words = [.. listener.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')[0])];
        Assert.Contains("7=echo", words);
        Assert.Contains("7=chat", words);
        Assert.Contains("start", words);
        Assert.Contains("status", words);
    }

    [Fact]
    public async Task ZshCompletesInAnInteractiveShell()
    {
        string zsh = ExternalTool.Require("zsh");
        string tmux = ExternalTool.Require("tmux");
        using var dir = new TempDirectory();
        await GenerateAsync(dir);
        await using var shell = await TmuxShell.StartAsync(tmux, dir.Path, zsh, "-f", "-i");
        await shell.RunAsync($"fpath=({dir.Path} $fpath); autoload -Uz compinit; compinit -u -d {dir.Path}/zcompdump");

        string services = await shell.CompleteAsync("ferryd --listen 7=", screen => screen.Contains("forward") && screen.Contains("exec"));
        Assert.Contains("chat", services);

        string datagram = await shell.CompleteAsync("ferryd -l udp:7=", screen => screen.Contains("forward") && screen.Contains("daytime"));
        Assert.DoesNotContain("chat", datagram);
        Assert.DoesNotContain("sink", datagram);

        string subcommands = await shell.CompleteAsync("ferryd sta", screen => screen.Contains("status"));
        Assert.Contains("Start ferryd as a daemon", subcommands);

        await shell.CompleteAsync("ferry bench --engine ", screen => screen.Contains("threads") && screen.Contains("epoll"));
    }

    private static async Task GenerateAsync(TempDirectory dir)
    {
        var run = await ToolRun.RunAsync("/bin/bash",
            ["-c", "BIN=$1 exec \"$2\" \"$3\"", "_", Binaries.Directory, Repository.PathOf("contrib/completion/generate.sh"), dir.Path],
            timeout: Limit);
        Assert.True(run.ExitCode == 0, $"generate.sh exited {run.ExitCode}: {run.Stderr}");
    }

    /// <summary>
    /// Sources PROGRAM's generated bash script in a fresh bash, runs the function `complete -p
    /// PROGRAM` registers as bash would for <paramref name="line"/> with the cursor at its end,
    /// and returns COMPREPLY.
    /// </summary>
    private static async Task<string[]> BashCompleteAsync(string program, string line)
    {
        using var dir = new TempDirectory();
        await GenerateAsync(dir);
        const string Driver = """
            source "$1" || exit 10
            spec=$(complete -p "$2") || exit 11
            function=${spec##*-F }
            function=${function%% *}
            COMP_LINE=$3
            COMP_POINT=${#COMP_LINE}
            read -ra COMP_WORDS <<< "$COMP_LINE"
            [[ $COMP_LINE == *' ' ]] && COMP_WORDS+=("")
            COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
            "$function" "$2" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" || exit 12
            printf '%s\n' "${COMPREPLY[@]}"
            """;
        var run = await ToolRun.RunAsync("/bin/bash",
            ["--norc", "--noprofile", "-c", Driver, "_", dir.File($"{program}.bash"), program, line],
            timeout: Limit);
        Assert.True(run.ExitCode == 0, $"completing '{line}': bash exited {run.ExitCode}: {run.Stderr}");
        return run.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>A comma-separated list from ferryd --help, captured by <paramref name="pattern"/>'s first group.</summary>
    private static async Task<string[]> HelpListAsync(string pattern)
    {
        var help = await ToolRun.RunAsync(Binaries.Ferryd, ["--help"], timeout: Limit);
        // Help wraps long descriptions: join the lines before matching.
        string text = WhitespaceRun().Replace(help.StdoutText, " ");
        Match match = Regex.Match(text, pattern);
        Assert.True(match.Success, $"ferryd --help does not match {pattern}");
        return [.. match.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhitespaceRun();

    /// <summary>
    /// An interactive shell in a detached tmux session (a private tmux server whose socket is in
    /// the test's directory, -S), typed at with send-keys and read with capture-pane: completion
    /// exactly as a user at a terminal gets it.
    /// </summary>
    private sealed class TmuxShell : IAsyncDisposable
    {
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
        private readonly string _tmux;
        private readonly string _socket;
        private int _marks;

        private TmuxShell(string tmux, string socket)
        {
            _tmux = tmux;
            _socket = socket;
        }

        public static async Task<TmuxShell> StartAsync(string tmux, string home, string shell, params string[] args)
        {
            var session = new TmuxShell(tmux, Path.Combine(home, "tmux.socket"));
            await session.TmuxAsync(["new-session", "-d", "-s", "t", "-x", "160", "-y", "60", "--",
                "env", "-i", $"HOME={home}", "TERM=xterm", $"PATH={Binaries.Directory}:/usr/bin:/bin", shell, .. args]);
            return session;
        }

        /// <summary>Runs a command line and waits until the shell has run it.</summary>
        public async Task RunAsync(string commandLine)
        {
            int mark = ++_marks;
            await TmuxAsync(["send-keys", "-t", "t", "-l", $"{commandLine}; print MARK-$(( {mark} * 1000 + 7 ))"]);
            await TmuxAsync(["send-keys", "-t", "t", "Enter"]);
            await WaitForAsync(screen => screen.Contains($"MARK-{mark * 1000 + 7}", StringComparison.Ordinal), commandLine);
        }

        /// <summary>Types <paramref name="line"/> on a clean line, presses Tab twice, returns the screen once <paramref name="done"/> holds.</summary>
        public async Task<string> CompleteAsync(string line, Func<string, bool> done)
        {
            await TmuxAsync(["send-keys", "-t", "t", "C-c"]);
            await TmuxAsync(["send-keys", "-t", "t", "C-l"]);
            await WaitForAsync(screen => screen.Trim().Length < 10, "a cleared screen");
            await TmuxAsync(["send-keys", "-t", "t", "-l", line]);
            await TmuxAsync(["send-keys", "-t", "t", "Tab"]);
            await Task.Delay(300);
            await TmuxAsync(["send-keys", "-t", "t", "Tab"]);
            return await WaitForAsync(done, $"completion of '{line}'");
        }

        private async Task<string> WaitForAsync(Func<string, bool> done, string what)
        {
            var deadline = DateTime.UtcNow + Patience;
            string screen = string.Empty;
            while (DateTime.UtcNow < deadline)
            {
                screen = (await TmuxAsync(["capture-pane", "-p", "-t", "t"])).StdoutText;
                if (done(screen))
                    return screen;
                await Task.Delay(100);
            }
            Assert.Fail($"{what}: not seen within {Patience.TotalSeconds} s; the screen:\n{screen}");
            return screen;
        }

        private async Task<ToolRun.Result> TmuxAsync(string[] args)
        {
            var run = await ToolRun.RunAsync(_tmux, ["-S", _socket, .. args], timeout: Limit);
            Assert.True(run.ExitCode == 0, $"tmux {string.Join(' ', args)}: {run.Stderr}");
            return run;
        }

        public async ValueTask DisposeAsync() => await ToolRun.RunAsync(_tmux, ["-S", _socket, "kill-server"], timeout: Limit);
    }
}
