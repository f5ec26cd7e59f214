namespace Ferry.Daemon.Connections;

/// <summary>
/// The "please finish and close" request for one connection (shutdown, or its listener removed
/// by a reload): the service sees it as <see cref="Services.ServiceConnection.Stopping"/>.
/// </summary>
internal sealed class ConnectionLifetime : IDisposable
{
    private readonly CancellationTokenSource _closeRequested = new();

    public CancellationToken CloseRequested => _closeRequested.Token;

    public void RequestClose()
    {
        try
        {
            _closeRequested.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The connection already ended.
        }
    }

    public void Dispose() => _closeRequested.Dispose();
}
