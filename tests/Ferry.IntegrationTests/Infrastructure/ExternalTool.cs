namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>
/// A peer program a test drives (nc, socat). Missing: the test skips, or fails when
/// FERRY_REQUIRE_TOOLS=1 (as CI sets it), so a missing install can never pass as green.
/// </summary>
internal static class ExternalTool
{
    public static string Require(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
                return candidate;
        }
        string message = name == "dotnet-counters"
            ? "dotnet-counters is not on PATH (./test.sh installs it into artifacts/tools)"
            : $"{name} is not installed (apt-get install {PackageOf(name)}); ./test.sh installs it as root";
        if (Environment.GetEnvironmentVariable("FERRY_REQUIRE_TOOLS") == "1")
            Assert.Fail(message);
        Assert.Skip(message);
        return name;
    }

    /// <summary>Only OpenBSD's nc has -N (shut down the socket's write side on stdin EOF).</summary>
    public static string RequireOpenBsdNetcat()
    {
        string nc = Require("nc");
        string target = Path.GetFullPath(nc);
        try
        {
            target = new FileInfo(nc).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? target;
        }
        catch (IOException)
        {
        }
        if (!target.Contains("openbsd", StringComparison.Ordinal) && !File.Exists("/bin/nc.openbsd"))
        {
            string message = $"nc at {nc} is not netcat-openbsd (needed for -N)";
            if (Environment.GetEnvironmentVariable("FERRY_REQUIRE_TOOLS") == "1")
                Assert.Fail(message);
            Assert.Skip(message);
        }
        return File.Exists("/bin/nc.openbsd") ? "/bin/nc.openbsd" : nc;
    }

    private static string PackageOf(string name) => name switch
    {
        "nc" => "netcat-openbsd",
        "redis-cli" or "redis-benchmark" => "redis-tools",
        "promtool" => "prometheus",
        "man" => "man-db",
        _ => name,
    };
}
