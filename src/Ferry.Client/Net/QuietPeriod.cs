namespace Ferry.Client.Net;

/// <summary>
/// When a UDP exchange ends. UDP has no close, so <c>ferry -u</c> ends once no datagram has
/// gone either way for a while: <paramref name="whileInputOpen"/> until stdin ends (null:
/// never), <paramref name="afterInputEnds"/> from then on (null: never). The clock restarts
/// with every datagram sent or received and at the end of input; a datagram still being
/// written to stdout holds the end off until it is out whole.
/// </summary>
internal sealed class QuietPeriod(TimeSpan? whileInputOpen, TimeSpan? afterInputEnds)
{
    /// <summary>How often the end is looked at again while stdout is taking a datagram.</summary>
    private static readonly TimeSpan WhileWriting = TimeSpan.FromMilliseconds(50);

    private readonly TaskCompletionSource _inputEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastDatagram = Environment.TickCount64;
    private int _writing;

    /// <summary>An exchange that ends only by a signal or a failure (<c>ferry listen -u</c>).</summary>
    public static QuietPeriod Never() => new(null, null);

    public void DatagramSent() => Restart();

    public void InputEnded()
    {
        Restart();
        _inputEnded.TrySetResult();
    }

    public void OutputStarted()
    {
        Restart();
        Interlocked.Increment(ref _writing);
    }

    public void OutputDone()
    {
        Interlocked.Decrement(ref _writing);
        Restart();
    }

    /// <summary>Completes when the exchange has been quiet for long enough.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool inputEnded = _inputEnded.Task.IsCompleted;
            TimeSpan? limit = inputEnded ? afterInputEnds : whileInputOpen;
            if (limit is not TimeSpan quiet)
            {
                await (inputEnded ? Task.Delay(Timeout.Infinite, cancellationToken) : _inputEnded.Task.WaitAsync(cancellationToken));
                continue;
            }
            TimeSpan quietFor = TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _lastDatagram));
            bool writing = Volatile.Read(ref _writing) > 0;
            if (quietFor >= quiet && !writing)
                return;
            Task delay = Task.Delay(writing ? WhileWriting : quiet - quietFor, cancellationToken);
            // Until input ends, wake at its end too: the limit may change then.
            await (inputEnded ? delay : Task.WhenAny(delay, _inputEnded.Task));
        }
    }

    private void Restart() => Volatile.Write(ref _lastDatagram, Environment.TickCount64);
}
