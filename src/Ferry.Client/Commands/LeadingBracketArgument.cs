namespace Ferry.Client.Commands;

/// <summary>
/// Keeps a bracketed IPv6 HOST such as <c>[2001:db8::1]</c> from being swallowed by the
/// parser. System.CommandLine treats any leading <c>[...]</c> argument as a directive, even
/// when none are defined, and silently drops it; then "ferry [2001:db8::1] 80" would report
/// a missing PORT. (<c>[::1]</c> happens to escape because of its second character.)
/// </summary>
internal static class LeadingBracketArgument
{
    /// <summary>
    /// Appends a space to the first argument when it has the directive shape, which makes it
    /// ordinary text; HOST parsing trims it off again.
    /// </summary>
    public static string[] Protect(string[] args)
    {
        if (args.Length == 0 || !LooksLikeDirective(args[0]))
            return args;
        string[] copy = (string[])args.Clone();
        copy[0] += " ";
        return copy;
    }

    // The tokenizer's own test: "[x...]" whose second character is neither ']' nor ':'.
    private static bool LooksLikeDirective(string arg) =>
        arg.Length > 2 && arg[0] == '[' && arg[1] is not (']' or ':') && arg[^1] == ']';
}
