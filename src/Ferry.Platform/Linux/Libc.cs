namespace Ferry.Platform.Linux;

/// <summary>The C library every call here goes to.</summary>
internal static class Libc
{
    public const string Name = "libc";
}
