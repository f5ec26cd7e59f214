namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>Files of the repository under test (contrib/, docs/): found above the test binaries, by build.sh.</summary>
internal static class Repository
{
    public static string Root { get; } = Locate();

    public static string PathOf(string relative) => System.IO.Path.Combine(Root, relative);

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "build.sh")))
                return dir.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root (build.sh) above " + AppContext.BaseDirectory);
    }
}
