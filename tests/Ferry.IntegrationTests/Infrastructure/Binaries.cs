namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>
/// Where the real executables under test are: <c>artifacts/bin</c> of the repository that
/// ./build.sh fills, or the directory named by FERRY_BIN.
/// </summary>
internal static class Binaries
{
    public static string Directory { get; } = Locate();

    public static string Ferryd => Path.Combine(Directory, "ferryd");

    public static string Ferry => Path.Combine(Directory, "ferry");

    /// <summary>The load generator; <c>ferry bench</c> runs it.</summary>
    public static string FerryBench => Path.Combine(Directory, "ferry-bench");

    private static string Locate()
    {
        string? configured = Environment.GetEnvironmentVariable("FERRY_BIN");
        if (!string.IsNullOrEmpty(configured))
            return configured;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "build.sh")))
            {
                string bin = Path.Combine(dir.FullName, "artifacts", "bin");
                if (!File.Exists(Path.Combine(bin, "ferryd")))
                    throw new InvalidOperationException($"{bin}/ferryd is missing: run ./build.sh first");
                return bin;
            }
        }
        throw new InvalidOperationException("cannot find the repository root (build.sh) above " + AppContext.BaseDirectory);
    }
}
