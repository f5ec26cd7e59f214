using System.Buffers;
using System.Text;
using Ferry.Daemon.Services.Sink;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Tests;

public sealed class SinkWriterTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>
    /// An append target that behaves like a disk of limited size: an append that does not fit
    /// fails with ENOSPC's message after writing what fits, which must then be cut back.
    /// </summary>
    private sealed class SmallDisk(int capacity) : ISinkFile
    {
        private readonly Lock _gate = new();
        private readonly List<byte> _content = [];

        public int Capacity { get; set; } = capacity;

        public int FailedAppends { get; private set; }

        public int Syncs { get; private set; }

        public string Path => "/small/disk.log";

        public string Text
        {
            get
            {
                lock (_gate)
                    return Encoding.ASCII.GetString(_content.ToArray());
            }
        }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            lock (_gate)
            {
                if (_content.Count + bytes.Length <= Capacity)
                {
                    _content.AddRange(bytes.ToArray());
                    return;
                }
                FailedAppends++;
                // What a real partial write leaves behind is removed again by the file, as SinkFile does.
                throw new IOException("No space left on device : '/small/disk.log'");
            }
        }

        public void Sync()
        {
            lock (_gate)
                Syncs++;
        }

        public void Close()
        {
        }

        public bool IsStillAtPath() => true;

        public void Dispose()
        {
        }
    }

    private static SinkRecord Record(string line) => new(Encoding.ASCII.GetBytes(line), "127.0.0.1:1", DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task FullDisk_TellsClients_HoldsLines_AndResumesWhenSpaceReturns()
    {
        var disk = new SmallDisk(capacity: 50);
        var told = new List<string>();
        var writer = new SinkWriter(disk, SinkPrefix.None, SinkFsync.EverySecond, TimeProvider.System, NullLogger.Instance,
            text => { lock (told) told.Add(text); }, retryDelay: TimeSpan.FromMilliseconds(10));

        for (int i = 0; i < 5; i++)
            await writer.AppendAsync(Record($"line-{i:D4}"), Token); // 10 bytes each: 50 fits
        await writer.WrittenAsync(Token);
        Assert.Null(writer.Failure);

        for (int i = 5; i < 20; i++)
            await writer.AppendAsync(Record($"line-{i:D4}"), Token);
        // The failure is published just before clients are told: wait for both.
        await InMemoryConnection.WaitUntilAsync(() => { lock (told) return writer.Failure is not null && told.Count > 0; },
            "the writer noticed the full disk and told its clients", Token);
        Assert.Equal("No space left on device", writer.Failure);
        lock (told)
            Assert.Equal(["! sink: cannot write its file (No space left on device); your lines are held and retried"], told);
        // Nothing torn: the file holds exactly the lines that fitted.
        Assert.Equal(string.Concat(Enumerable.Range(0, 5).Select(i => $"line-{i:D4}\n")), disk.Text);
        await InMemoryConnection.WaitUntilAsync(() => disk.FailedAppends >= 3, "the writer retried", Token);

        disk.Capacity = 10_000;
        await writer.WrittenAsync(Token);
        Assert.Null(writer.Failure);
        lock (told)
            Assert.Equal("* sink: writing again", told[^1]);
        Assert.Equal(string.Concat(Enumerable.Range(0, 20).Select(i => $"line-{i:D4}\n")), disk.Text);
        Assert.Equal(20, writer.LinesWritten);

        await writer.DisposeAsync();
        Assert.True(disk.Syncs >= 1, "the file was not synced at close");
    }

    [Fact]
    public async Task DiskStillFullAtShutdown_GivesUpWithinItsBudget()
    {
        var disk = new SmallDisk(capacity: 0);
        var writer = new SinkWriter(disk, SinkPrefix.None, SinkFsync.No, TimeProvider.System, NullLogger.Instance,
            _ => { }, retryDelay: TimeSpan.FromMilliseconds(10), giveUpAfter: TimeSpan.FromMilliseconds(200));
        await writer.AppendAsync(Record("never"), Token);
        await InMemoryConnection.WaitUntilAsync(() => writer.Failure is not null, "the failure", Token);
        await writer.DisposeAsync().AsTask().WaitAsync(InMemoryConnection.Timeout, Token);
        Assert.Equal("", disk.Text);
    }

    [Fact]
    public async Task FsyncAlways_SyncsAfterEveryBatch()
    {
        var disk = new SmallDisk(capacity: 10_000);
        var writer = new SinkWriter(disk, SinkPrefix.None, SinkFsync.Always, TimeProvider.System, NullLogger.Instance, _ => { });
        await writer.AppendAsync(Record("a"), Token);
        await writer.WrittenAsync(Token);
        Assert.True(disk.Syncs >= 1);
        await writer.DisposeAsync();
    }

    [Fact]
    public void Formats_AreAsDocumented()
    {
        var record = new SinkRecord([.. "hi \"x\"\0"u8, 0xff], "127.0.0.1:5000", new DateTimeOffset(2026, 11, 26, 3, 4, 5, 678, TimeSpan.Zero));
        string Format(SinkPrefix prefix)
        {
            var output = new ArrayBufferWriter<byte>();
            SinkFormat.Append(output, record, prefix);
            return Encoding.Latin1.GetString(output.WrittenSpan);
        }
        Assert.Equal("hi \"x\"\0\xff\n", Format(SinkPrefix.None));
        Assert.Equal("2026-11-26T03:04:05.678Z hi \"x\"\0\xff\n", Format(SinkPrefix.Time));
        Assert.Equal("127.0.0.1:5000 hi \"x\"\0\xff\n", Format(SinkPrefix.Peer));
        Assert.Equal("2026-11-26T03:04:05.678Z 127.0.0.1:5000 hi \"x\"\0\xff\n", Format(SinkPrefix.TimeAndPeer));
        var output = new ArrayBufferWriter<byte>();
        SinkFormat.Append(output, record, SinkPrefix.Json);
        Assert.Equal("{\"time\":\"2026-11-26T03:04:05.678Z\",\"peer\":\"127.0.0.1:5000\",\"line\":\"hi \\\"x\\\"\\u0000\uFFFD\"}\n",
            Encoding.UTF8.GetString(output.WrittenSpan));
    }
}
