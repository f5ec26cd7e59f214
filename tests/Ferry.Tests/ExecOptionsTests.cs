using System.Net;
using Ferry.Daemon.Listeners;
using Ferry.Daemon.Services;
using Ferry.Daemon.Services.Exec;

namespace Ferry.Tests;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ExecOptionsTests
{
    private static ListenerSettings Parse(string listener)
    {
        Assert.True(ListenerSpec.TryParse(listener, out var spec, out string error), error);
        return ListenerSettings.From(spec!);
    }

    private static ServiceOptionException Refused(string listener) => Assert.Throws<ServiceOptionException>(() => Parse(listener));

    [Fact]
    public void DefaultsAreThoseTheDocsGive()
    {
        var settings = Parse("7000=exec,cmd=/bin/cat");
        var options = (ExecOptions)settings.ServiceOptions!;
        Assert.Equal("/bin/cat", options.Command);
        Assert.Empty(options.Arguments);
        Assert.Equal("/", options.Directory);
        Assert.Empty(options.ExtraEnvironment);
        Assert.Null(options.Account);
        Assert.Equal(40, options.MaxChildren);
        Assert.Equal(TimeSpan.Zero, options.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.KillGrace);
        Assert.Equal(StderrMode.Log, options.Stderr);
        // A program for whoever connects: loopback only unless allow= says otherwise.
        Assert.True(settings.Policy.AllowIsLoopbackDefault);
        Assert.False(settings.Policy.Admits(IPAddress.Parse("192.0.2.7")));
        Assert.True(Parse("7000=exec,cmd=/bin/cat,allow=192.0.2.0/24").Policy.Admits(IPAddress.Parse("192.0.2.7")));
    }

    [Fact]
    public void EveryKeyIsRead()
    {
        var options = (ExecOptions)Parse("7000=exec,cmd=/bin/sh,args=-c;wc -c,dir=/tmp,env=A=1;B=x y,maxChildren=3,timeout=2.5,killGrace=0,stderr=socket")
            .ServiceOptions!;
        Assert.Equal(["-c", "wc -c"], options.Arguments);
        Assert.Equal("/tmp", options.Directory);
        Assert.Equal(["A=1", "B=x y"], options.ExtraEnvironment);
        Assert.Equal(3, options.MaxChildren);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.Timeout);
        Assert.Equal(TimeSpan.Zero, options.KillGrace);
        Assert.Equal(StderrMode.Socket, options.Stderr);
    }

    [Theory]
    [InlineData("7000=exec", "exec needs cmd=PROGRAM", false)]
    [InlineData("7000=exec,cmd=cat", "absolute path", false)]
    [InlineData("7000=exec,cmd=/bin/cat,dir=tmp", "absolute directory", false)]
    [InlineData("7000=exec,cmd=/bin/cat,env=NOEQUALS", "NAME=VALUE", false)]
    [InlineData("7000=exec,cmd=/bin/cat,env=1X=2", "NAME=VALUE", false)]
    [InlineData("7000=exec,cmd=/bin/cat,env=TCPREMOTEIP=1.2.3.4", "set by exec itself", false)]
    [InlineData("7000=exec,cmd=/bin/cat,maxChildren=0", "maxChildren=0", false)]
    [InlineData("7000=exec,cmd=/bin/cat,stderr=file", "stderr=file", false)]
    [InlineData("7000=exec,cmd=/bin/cat,shell=on", "unknown option 'shell'", false)]
    [InlineData("7000=exec,cmd=/no/such/program", "no such file", true)]
    [InlineData("7000=exec,cmd=/tmp", "is a directory", true)]
    [InlineData("7000=exec,cmd=/bin/cat,dir=/no/such/dir", "no such directory", true)]
    public void BadValuesAreNamed(string listener, string expected, bool aboutTheSystem)
    {
        var refused = Refused(listener);
        Assert.Contains(expected, refused.Message);
        Assert.Equal(aboutTheSystem, refused.AboutTheSystem);
    }

    [Fact]
    public void ProgramCheckTellsScriptsAndBinariesFromOtherFiles()
    {
        Assert.Null(ProgramCheck.Problem("/bin/cat"));
        string dir = Directory.CreateTempSubdirectory("ferry-exec-").FullName;
        string Write(string name, string text, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserExecute)
        {
            string path = Path.Combine(dir, name);
            File.WriteAllText(path, text);
            File.SetUnixFileMode(path, mode);
            return path;
        }
        try
        {
            Assert.Null(ProgramCheck.Problem(Write("ok.sh", "#!/bin/sh -e\necho hi\n")));
            Assert.Null(ProgramCheck.Problem(Write("short.sh", "#!/bin/sh")));
            Assert.Equal("its #! line names no interpreter", ProgramCheck.Problem(Write("none.sh", "#!\necho hi\n")));
            Assert.Contains("ends in CR", ProgramCheck.Problem(Write("dos.sh", "#!/bin/sh\r\necho hi\r\n")));
            Assert.Equal("cannot be executed: permission denied",
                ProgramCheck.Problem(Write("plain.sh", "#!/bin/sh\necho hi\n", UnixFileMode.UserRead | UnixFileMode.UserWrite)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void EnvironmentHoldsTheConnectionAndWhatEnvAddsOnly()
    {
        var options = (ExecOptions)Parse("7000=exec,cmd=/bin/cat,env=PATH=/opt/bin;X=1").ServiceOptions!;
        var variables = new ChildEnvironment(options).For(new IPEndPoint(IPAddress.Parse("::ffff:192.0.2.9"), 40000),
            new IPEndPoint(IPAddress.Parse("192.0.2.1"), 7000));
        Assert.Contains("PATH=/opt/bin", variables);
        Assert.Single(variables, v => v.StartsWith("PATH=", StringComparison.Ordinal));
        Assert.Contains("X=1", variables);
        Assert.Contains("PROTO=TCP", variables);
        Assert.Contains("TCPREMOTEIP=192.0.2.9", variables);
        Assert.Contains("REMOTE_ADDR=192.0.2.9", variables);
        Assert.Contains("TCPREMOTEPORT=40000", variables);
        Assert.Contains("REMOTE_PORT=40000", variables);
        Assert.Contains("TCPLOCALIP=192.0.2.1", variables);
        Assert.Contains("TCPLOCALPORT=7000", variables);
        Assert.All(variables, v => Assert.Contains(v[..v.IndexOf('=')],
            new[] { "PATH", "LANG", "TZ", "X", "PROTO", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT", "REMOTE_ADDR", "REMOTE_PORT" }));
    }

    [Fact]
    public void LineBudgetLetsAWindowsWorthThroughAndReportsTheRestOnce()
    {
        var clock = new ManualClock();
        var reported = new List<long>();
        var budget = new LineBudget(clock, TimeSpan.FromSeconds(10), 3, reported.Add);
        for (int i = 0; i < 3; i++)
            Assert.True(budget.TryTake());
        Assert.False(budget.TryTake());
        Assert.False(budget.TryTake());
        Assert.Empty(reported);
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(budget.TryTake());
        Assert.Equal([2], reported);
        Assert.True(budget.TryTake());
        Assert.Equal([2], reported);
    }
}
