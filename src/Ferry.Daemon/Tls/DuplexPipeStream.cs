using System.IO.Pipelines;

namespace Ferry.Daemon.Tls;

/// <summary>
/// The transport's two pipes as one Stream, for SslStream to sit on. Reads and writes go
/// straight to the pipes (so the transport's backpressure still applies); closing this
/// stream leaves the pipes to the connection, which completes them when it is disposed.
/// </summary>
internal sealed class DuplexPipeStream(IDuplexPipe transport) : AsyncOnlyStream
{
    private readonly Stream _input = transport.Input.AsStream(leaveOpen: true);
    private readonly Stream _output = transport.Output.AsStream(leaveOpen: true);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _input.ReadAsync(buffer, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _output.WriteAsync(buffer, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _input.Dispose();
            _output.Dispose();
        }
        base.Dispose(disposing);
    }
}
