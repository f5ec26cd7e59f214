using System.IO.Pipelines;
using Ferry.Daemon.Transport;

namespace Ferry.Daemon.Services.Forward;

/// <summary>
/// The active health check (<c>check=on</c>): every interval, a TCP connect to each upstream
/// (within connectTimeout), closed at once; <see cref="Upstream.Checked"/> counts the results.
/// </summary>
internal sealed class UpstreamChecks : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;

    private UpstreamChecks()
    {
    }

    public static UpstreamChecks Start(IReadOnlyList<Upstream> upstreams, HealthCheck check, TimeSpan connectTimeout)
    {
        var checks = new UpstreamChecks();
        checks._running = checks.RunAsync(upstreams, check, connectTimeout);
        return checks;
    }

    private async Task RunAsync(IReadOnlyList<Upstream> upstreams, HealthCheck check, TimeSpan connectTimeout)
    {
        using var timer = new PeriodicTimer(check.Interval);
        try
        {
            do
            {
                await Task.WhenAll(upstreams.Select(upstream => CheckAsync(upstream, check, connectTimeout)));
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task CheckAsync(Upstream upstream, HealthCheck check, TimeSpan connectTimeout)
    {
        var endpoint = upstream.NextEndpoint();
        var result = await OutboundConnect.ConnectAsync(endpoint.EndPoint, endpoint.SocketAddress, EpollLoop.Next(), BlockPool.Default,
            PipeScheduler.ThreadPool, connectTimeout);
        if (result.Connection is { } connection)
        {
            connection.Close(null);
            await connection.DisposeAsync();
        }
        upstream.Checked(result.Connection is not null, result.Failure ?? "", check.Rise, check.Fall);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running;
        _stop.Dispose();
    }
}
