using System.CommandLine;
using System.CommandLine.Invocation;

namespace Ferry.Completion;

/// <summary>
/// The hidden <c>--completion bash|zsh|fish</c> option of ferryd, ferry and ferry-bench: prints
/// the completion script for that shell, written from the program's own command tree, and
/// exits 0. An option rather than a subcommand because <c>ferry completion</c> would read as
/// <c>ferry HOST</c>. Hidden from --help: it is for packagers (contrib/completion/generate.sh)
/// and for users setting completion up by hand (docs/client.md).
/// <c>--completion tree</c> prints the tree itself (<see cref="TreeText"/>) for another program to take in.
/// </summary>
internal static class CompletionScriptOption
{
    public const string Name = "--completion";

    /// <summary>Adds the option to <paramref name="root"/>; <paramref name="tree"/> is asked for the tree only when the option is used.</summary>
    public static void AddTo(RootCommand root, string program, Func<CompletionCommand> tree)
    {
        var option = new Option<string>(Name) { Hidden = true, HelpName = "bash|zsh|fish" };
        option.Action = new PrintScript(option, program, tree);
        root.Options.Add(option);
    }

    private sealed class PrintScript(Option<string> option, string program, Func<CompletionCommand> tree) : SynchronousCommandLineAction
    {
        // Like --help: the script is wanted whatever else the command line lacks.
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            // Not GetValue: with the value missing it throws, and errors are cleared for this action.
            string shell = parseResult.GetResult(option) is { Tokens: [var token, ..] } ? token.Value : string.Empty;
            Func<CompletionCommand, string>? writer = shell switch
            {
                "bash" => BashScript.Write,
                "zsh" => ZshScript.Write,
                "fish" => FishScript.Write,
                "tree" => TreeText.Write,
                _ => null,
            };
            if (writer is null)
            {
                parseResult.InvocationConfiguration.Error.WriteLine(shell.Length == 0
                    ? $"{program}: {Name} needs a shell: bash, zsh or fish"
                    : $"{program}: {Name}: unknown shell '{shell}' (bash, zsh or fish)");
                return 2;
            }
            parseResult.InvocationConfiguration.Output.Write(writer(tree()));
            return 0;
        }
    }
}
