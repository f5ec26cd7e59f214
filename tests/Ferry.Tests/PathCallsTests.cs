using System.Net.Sockets;
using System.Runtime.Versioning;
using Ferry.Platform.Linux;

namespace Ferry.Tests;

[SupportedOSPlatform("linux")]
public sealed class PathCallsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ferry-path-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void TellsASocketFromOtherFiles()
    {
        string socketPath = Path.Combine(_directory, "s");
        // Kept open: the runtime removes the file of a socket it bound when it disposes of it.
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        string file = Path.Combine(_directory, "f");
        File.WriteAllText(file, "x");
        string link = Path.Combine(_directory, "l");
        File.CreateSymbolicLink(link, socketPath);

        Assert.Equal(0, PathCalls.IsSocket(socketPath, followSymlink: false, out bool isSocket));
        Assert.True(isSocket);
        Assert.Equal(0, PathCalls.IsSocket(file, followSymlink: true, out isSocket));
        Assert.False(isSocket);
        Assert.Equal(0, PathCalls.IsSocket(link, followSymlink: true, out isSocket));
        Assert.True(isSocket);
        Assert.Equal(0, PathCalls.IsSocket(link, followSymlink: false, out isSocket));
        Assert.False(isSocket);
    }

    [Fact]
    public void ReportsTheErrnoOfAPathThatCannotBeLookedAt()
    {
        string file = Path.Combine(_directory, "f");
        File.WriteAllText(file, "x");
        Assert.Equal(Errno.NoSuchFile, PathCalls.IsSocket(Path.Combine(_directory, "missing"), true, out _));
        Assert.Equal(Errno.NotADirectory, PathCalls.IsSocket(Path.Combine(file, "x"), true, out _));
        Assert.Equal(0, PathCalls.CheckDirectory(_directory));
        Assert.Equal(Errno.NotADirectory, PathCalls.CheckDirectory(file));
        Assert.Equal(Errno.NoSuchFile, PathCalls.CheckDirectory(Path.Combine(_directory, "missing")));
    }
}
