using System.Text;
using Ferry.Client.Net;

namespace Ferry.Tests;

public sealed class StdinDatagramsTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A stream whose every read returns exactly the next chunk, as a pipe read after each write does.</summary>
    private sealed class ChunkedStream(IEnumerable<byte[]> chunks) : Stream
    {
        private readonly Queue<byte[]> _chunks = new(chunks);
        private byte[] _current = [];
        private int _at;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_at == _current.Length)
            {
                if (!_chunks.TryDequeue(out byte[]? next))
                    return 0;
                _current = next;
                _at = 0;
            }
            int n = Math.Min(count, _current.Length - _at);
            Array.Copy(_current, _at, buffer, offset, n);
            _at += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static async Task<List<byte[]>> AllAsync(params byte[][] chunks)
    {
        var input = new StdinDatagrams(new ChunkedStream(chunks));
        var datagrams = new List<byte[]>();
        while (await input.NextAsync(Token) is ReadOnlyMemory<byte> datagram)
            datagrams.Add(datagram.ToArray());
        return datagrams;
    }

    [Fact]
    public async Task TextGoesALinePerDatagramHoweverItArrives()
    {
        var datagrams = await AllAsync("a\nbb\ncc"u8.ToArray(), "c\n"u8.ToArray(), "\ntail"u8.ToArray());
        Assert.Equal(["a\n", "bb\n", "ccc\n", "\n", "tail"], datagrams.Select(Encoding.ASCII.GetString));
    }

    [Fact]
    public async Task BinaryGoesAReadPerDatagramNewlinesAndAll()
    {
        byte[] first = [0, 1, (byte)'\n', 2];
        byte[] second = [(byte)'\n', (byte)'\n'];
        var datagrams = await AllAsync(first, second);
        Assert.Equal([first, second], datagrams);
    }

    [Fact]
    public async Task TheFirstReadDecidesForTheWholeInput()
    {
        // Binary after text: still lines. Text after binary: still reads.
        var lines = await AllAsync("text\n"u8.ToArray(), [0, (byte)'\n', 1]);
        Assert.Equal(3, lines.Count);
        var reads = await AllAsync([0xff], "a\nb\n"u8.ToArray());
        Assert.Equal(2, reads.Count);
    }

    [Fact]
    public async Task NoDatagramIsLongerThanTheLargestUdpPayload()
    {
        byte[] line = Encoding.ASCII.GetBytes(new string('x', 70_000) + "\n");
        var text = await AllAsync(line);
        Assert.Equal([StdinDatagrams.MaxLength, 70_001 - StdinDatagrams.MaxLength], text.Select(d => d.Length));

        byte[] binary = new byte[100_000];
        var reads = await AllAsync(binary);
        Assert.Equal([StdinDatagrams.MaxLength, 100_000 - StdinDatagrams.MaxLength], reads.Select(d => d.Length));
    }

    [Fact]
    public async Task EmptyInputSendsNothing() => Assert.Empty(await AllAsync());
}

public sealed class QuietPeriodTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EndsAfterTheLimitWithoutADatagram()
    {
        var quiet = new QuietPeriod(TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200));
        var started = System.Diagnostics.Stopwatch.StartNew();
        await quiet.WaitAsync(Token).WaitAsync(TimeSpan.FromSeconds(10), Token);
        Assert.True(started.ElapsedMilliseconds >= 190, $"ended after {started.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task NeverEndsWhileInputIsOpenWithoutALimitThenWaitsItsLimitAfterInput()
    {
        var quiet = new QuietPeriod(null, TimeSpan.FromMilliseconds(200));
        Task over = quiet.WaitAsync(Token);
        await Task.Delay(400, Token);
        Assert.False(over.IsCompleted);
        var ended = System.Diagnostics.Stopwatch.StartNew();
        quiet.InputEnded();
        await over.WaitAsync(TimeSpan.FromSeconds(10), Token);
        Assert.True(ended.ElapsedMilliseconds >= 190, $"ended {ended.ElapsedMilliseconds} ms after input");
    }

    [Fact]
    public async Task AWriteInProgressHoldsTheEndOff()
    {
        var quiet = new QuietPeriod(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100));
        quiet.OutputStarted();
        Task over = quiet.WaitAsync(Token);
        await Task.Delay(400, Token);
        Assert.False(over.IsCompleted);
        quiet.OutputDone();
        await over.WaitAsync(TimeSpan.FromSeconds(10), Token);
    }
}
