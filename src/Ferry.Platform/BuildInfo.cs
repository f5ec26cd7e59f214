using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ferry.Platform;

/// <summary>
/// What a binary is, for <c>--version</c> and bug reports: the version (from one place,
/// Directory.Build.props), the commit it was built from (the SDK puts it after a '+' in the
/// informational version), how it was built (Native AOT or JIT) and the runtime under it.
/// </summary>
public static class BuildInfo
{
    public static string Version => Informational.Split('+')[0];

    /// <summary>The commit, abbreviated to 12 characters, or "unknown" when built outside git.</summary>
    public static string Commit => Informational.Split('+') is [_, var commit, ..] && commit.Length > 0 ? commit[..Math.Min(12, commit.Length)] : "unknown";

    /// <summary>Native AOT: no JIT at run time (what build.sh makes with a C toolchain); JIT otherwise.</summary>
    public static string Kind => RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "Native AOT";

    /// <summary>"ferryd 0.9.0 (commit 17a8de629e3b, Native AOT, .NET 10.0.1, linux-x64)".</summary>
    public static string Describe(string program) =>
        $"{program} {Version} (commit {Commit}, {Kind}, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.RuntimeIdentifier})";

    private static string Informational =>
        (Assembly.GetEntryAssembly() ?? typeof(BuildInfo).Assembly).GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
}

/// <summary>
/// <c>--version</c> as every Ferry program answers it: <see cref="BuildInfo.Describe"/> instead
/// of System.CommandLine's bare informational version.
/// </summary>
public sealed class PrintVersion(string program) : System.CommandLine.Invocation.SynchronousCommandLineAction
{
    /// <summary>Gives <paramref name="root"/>'s --version option this action.</summary>
    public static void Install(System.CommandLine.RootCommand root, string program)
    {
        foreach (var option in root.Options.OfType<System.CommandLine.VersionOption>())
            option.Action = new PrintVersion(program);
    }

    public override int Invoke(System.CommandLine.ParseResult parseResult)
    {
        parseResult.InvocationConfiguration.Output.WriteLine(BuildInfo.Describe(program));
        return 0;
    }
}
