using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Listeners;
using Ferry.Daemon.Logging;
using Ferry.Daemon.Transport;
using Ferry.Platform.Net;
using Ferry.Protocol;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services.Forward;

/// <summary>
/// forward: a TCP proxy. Each client gets one upstream connection, chosen by the listener's
/// <see cref="Balance"/> among the healthy upstreams, tried again on another one after a failed
/// connect (<c>retries</c>); bytes are copied both ways by a <see cref="ForwardPair"/>. Behind a
/// load balancer (<c>acceptProxy</c>) the client's PROXY header is read first; towards the
/// upstream (<c>sendProxy</c>) one is written first.
/// </summary>
internal sealed partial class ForwardService : IConnectionService, IAsyncDisposable
{
    private readonly ForwardOptions _options;
    private readonly ListenerPolicy _policy;
    private readonly string _listener;
    private readonly ILogger _logger;
    private readonly UpstreamPool _upstreams;
    private readonly UpstreamChecks? _checks;
    private readonly UpstreamTlsClient? _tls;
    private readonly RepeatWindow _noneUp;
    private readonly RepeatWindow _badHeaders;

    /// <summary>How often a repeated warning (no upstream up, bad PROXY headers) is logged at most.</summary>
    public static readonly TimeSpan RepeatedWarningWindow = TimeSpan.FromSeconds(10);

    public ForwardService(ServiceContext context)
    {
        _options = context.Options<ForwardOptions>();
        _policy = context.Listener.Policy;
        _listener = context.Listener.ToString();
        _logger = context.Loggers.CreateLogger("ferryd.forward");
        _upstreams = new UpstreamPool(_options, _listener, context.Time, _logger);
        _noneUp = new RepeatWindow(context.Time, RepeatedWarningWindow);
        _badHeaders = new RepeatWindow(context.Time, RepeatedWarningWindow);
        if (_options.Tls.Enabled)
            _tls = new UpstreamTlsClient(_options.Tls, _options.ConnectTimeout, _listener, _logger);
        if (_options.Check.Enabled)
            _checks = UpstreamChecks.Start(_upstreams.All, _options.Check, _options.ConnectTimeout);
    }

    public async ValueTask<CloseReason> RunAsync(ServiceConnection client)
    {
        var remote = client.Transport?.RemoteEndPoint as IPEndPoint;
        string peer = client.Peer;
        string? via = null;
        if (_options.AcceptsProxy)
        {
            var header = await ProxyHeaderReader.ReadAsync(client.Input, remote, _options.AcceptProxyFrom!, ForwardOptions.ProxyHeaderTimeout);
            if (header.Refusal is { } refusal)
            {
                if (_badHeaders.ShouldLog(out long more))
                    ProxyHeaderRefused(_logger, _listener, peer, refusal, Repeats(more));
                client.CloseDetail = refusal;
                return CloseReason.ProxyHeaderRefused;
            }
            if (header.Source is { } source)
            {
                via = peer;
                remote = source;
                peer = EndpointText.Format(source);
                if (!_policy.Admits(EndpointText.Unmapped(source.Address)))
                {
                    client.CloseDetail = $"client {peer} (via {via}) is not allowed here";
                    return CloseReason.Denied;
                }
            }
        }

        var (upstream, connection) = await ConnectAsync(peer);
        if (connection is null)
        {
            client.CloseDetail = via is null ? null : $"client {peer} via {via}";
            return CloseReason.NoUpstream;
        }
        string detail = via is null ? $"upstream {upstream!.Name}" : $"client {peer} via {via}, upstream {upstream!.Name}";
        client.CloseDetail = detail;
        IDuplexPipe? tlsSession = null;
        try
        {
            if (_options.SendProxy != ProxyVersion.Off)
                SendProxyHeader(connection, remote, client);
            IDuplexPipe pipes = connection.Transport;
            if (_tls is not null)
            {
                (tlsSession, string? failure) = await _tls.ConnectAsync(connection.Transport, upstream.Address.Host!);
                if (tlsSession is null)
                {
                    client.CloseDetail = $"{detail}, TLS failed: {failure}";
                    return CloseReason.NoUpstream;
                }
                pipes = tlsSession;
            }
            var pair = new ForwardPair(client, connection, pipes, _options.FinTimeout);
            var reason = await pair.RunAsync();
            client.CloseDetail = $"{detail}, {pair.Ending}";
            return reason;
        }
        finally
        {
            if (tlsSession is IAsyncDisposable session)
                await session.DisposeAsync();
            await connection.DisposeAsync();
            upstream.PairClosed();
        }
    }

    /// <summary>Connects to an upstream, trying others after a failure (at most 1 + retries); logs one line when all failed.</summary>
    private async ValueTask<(Upstream? Upstream, SocketConnection? Connection)> ConnectAsync(string peer)
    {
        // The pair stays on the loop that serves the client: no thread hop between its two sockets.
        EpollLoop loop = EpollLoop.Current ?? EpollLoop.Next();
        PipeScheduler scheduler = EpollLoop.Current is null ? PipeScheduler.ThreadPool : PipeScheduler.Inline;
        List<Upstream>? tried = null;
        List<string>? failures = null;
        for (int attempt = 0; attempt <= _options.Retries; attempt++)
        {
            Upstream? upstream = _upstreams.Choose(tried);
            if (upstream is null)
                break;
            IPEndPoint endpoint = upstream.NextEndpoint();
            if (_logger.IsEnabled(LogLevel.Debug))
                UpstreamChosen(_logger, _listener, peer, upstream.Name, EndpointText.Format(endpoint));
            // Counted from the attempt on: leastconn and maxConnsPerUpstream see connects in flight.
            upstream.PairOpened();
            var result = await OutboundConnect.ConnectAsync(endpoint, loop, BlockPool.Default, scheduler, _options.ConnectTimeout);
            if (result.Connection is { } connection)
            {
                upstream.Connected();
                _noneUp.Reset();
                return (upstream, connection);
            }
            upstream.PairClosed();
            if (upstream.ConnectFailed(result.Failure!))
                _ = upstream.ResolveAgainAsync();
            (tried ??= []).Add(upstream);
            (failures ??= []).Add($"{upstream.Name} ({EndpointText.Format(endpoint)}): {result.Failure}");
        }
        if (failures is null)
        {
            if (_noneUp.ShouldLog(out long more))
                NoUpstreamUp(_logger, _listener, peer, Repeats(more));
        }
        else
            NoUpstreamConnected(_logger, _listener, peer, string.Join("; ", failures));
        return (null, null);
    }

    /// <summary>The PROXY header goes first, before any byte of the client's: the upstream's output is empty, so this only buffers.</summary>
    private void SendProxyHeader(SocketConnection upstream, IPEndPoint? client, ServiceConnection connection)
    {
        var local = connection.Transport?.LocalEndPoint as IPEndPoint;
        if (client is null || local is null)
            return;
        byte[] header = _options.SendProxy == ProxyVersion.V1 ? ProxyHeader.V1(client, local) : ProxyHeader.V2(client, local);
        upstream.Transport.Output.Write(header);
    }

    private static string Repeats(long more) => more == 0 ? "" : $" ({more} more since the last such line)";

    public async ValueTask DisposeAsync()
    {
        if (_checks is not null)
            await _checks.DisposeAsync();
    }

    [LoggerMessage(EventId = 62, Level = LogLevel.Warning, Message = "forward {Listener}: client {Peer}: no upstream connected: {Failures}")]
    private static partial void NoUpstreamConnected(ILogger logger, string listener, string peer, string failures);

    [LoggerMessage(EventId = 63, Level = LogLevel.Warning, Message = "forward {Listener}: client {Peer}: no upstream is up, client closed{Repeats}")]
    private static partial void NoUpstreamUp(ILogger logger, string listener, string peer, string repeats);

    [LoggerMessage(EventId = 64, Level = LogLevel.Debug, Message = "forward {Listener}: client {Peer} goes to upstream {Upstream} ({Address})")]
    private static partial void UpstreamChosen(ILogger logger, string listener, string peer, string upstream, string address);

    [LoggerMessage(EventId = 65, Level = LogLevel.Warning, Message = "forward {Listener}: client {Peer}: PROXY header refused: {Reason}{Repeats}")]
    private static partial void ProxyHeaderRefused(ILogger logger, string listener, string peer, string reason, string repeats);
}
