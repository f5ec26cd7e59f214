using System.CommandLine;
using Ferry.Completion;

namespace Ferry.Tests;

public sealed class CompletionTreeTests
{
    private static CompletionCommand Sample()
    {
        var level = new Option<string>("--level") { Description = "Level: a or b." };
        level.CompletionSources.Add("b", "a");
        var root = new RootCommand("sample")
        {
            new Option<bool>("--flag", "-f") { Description = "A flag" },
            new Option<string>("--secret") { Hidden = true },
            new Option<string>("--listen", "-l"),
            level,
            new Command("run", "Run it") { new Option<string>("--file") },
            new Command("ghost") { Hidden = true },
        };
        return CompletionTree.From(root, new Dictionary<string, ValueHint>
        {
            ["--listen"] = new(ValueKind.Listener, ["echo", "chat"], ["echo"]),
            ["--file"] = new(ValueKind.File),
        });
    }

    [Fact]
    public void WalksVisibleCommandsAndOptionsWithTheirValues()
    {
        CompletionCommand root = Sample();
        Assert.Equal(["run"], root.Subcommands.Select(sub => sub.Name));
        Assert.DoesNotContain(root.Options, option => option.Names.Contains("--secret"));

        CompletionOption flag = root.Options.Single(option => option.Names.Contains("--flag"));
        Assert.Equal(["--flag", "-f"], flag.Names);
        Assert.False(flag.TakesValue);

        CompletionOption level = root.Options.Single(option => option.Names.Contains("--level"));
        Assert.Equal(ValueKind.Text, level.Kind);
        Assert.Equal(["a", "b"], level.Choices);

        CompletionOption listen = root.Options.Single(option => option.Names.Contains("--listen"));
        Assert.Equal(ValueKind.Listener, listen.Kind);
        Assert.Equal(["echo"], listen.DatagramChoices);

        // The root's recursive --help reaches the subcommand; "-?" and "/?" never appear.
        CompletionCommand run = root.Subcommands[0];
        Assert.Contains(run.Options, option => option.Names.SequenceEqual(["--help", "-h"]));
        Assert.Equal(ValueKind.File, run.Options.Single(option => option.Names.Contains("--file")).Kind);
        Assert.DoesNotContain(run.Options.Concat(root.Options).SelectMany(option => option.Names), name => name.Contains('?') || name.StartsWith('/'));
    }

    [Fact]
    public void TreeTextReadsBackWhatItWrote()
    {
        CompletionCommand root = Sample();
        string text = TreeText.Write(root);
        CompletionCommand? read = TreeText.Read(text);
        Assert.NotNull(read);
        Assert.Equal(text, TreeText.Write(read));
        Assert.Null(TreeText.Read("not a tree"));
    }

    [Fact]
    public void GraftGivesTheNamedSubcommandAnotherTreesOptions()
    {
        CompletionCommand root = Sample();
        var other = new CompletionCommand("other", "x", [new CompletionOption(["--mode"], "m", ValueKind.Text, ["fast"], [])], []);
        CompletionCommand grafted = CompletionTree.Graft(root, "run", other);
        CompletionCommand run = grafted.Subcommands.Single();
        Assert.Equal("run", run.Name);
        Assert.Equal("Run it", run.Description);
        Assert.Equal(["--mode"], run.Options.Single().Names);
    }
}
