using Microsoft.AspNetCore.Connections.Features;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// The "please finish and close" signal for one connection, offered to its handler through
/// the same feature Kestrel's own server uses, so handlers read it the usual way.
/// </summary>
internal sealed class ConnectionLifetime : IConnectionLifetimeNotificationFeature, IDisposable
{
    private readonly CancellationTokenSource _closeRequested = new();

    public CancellationToken ConnectionClosedRequested
    {
        get => _closeRequested.Token;
        set => throw new NotSupportedException("the close request token is owned by ferryd");
    }

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
