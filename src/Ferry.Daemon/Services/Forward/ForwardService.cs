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
internal sealed partial class ForwardService : IConnectionService, IServiceMetrics, IAsyncDisposable
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
    private readonly RepeatWindow _failedConnects;

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
        _failedConnects = new RepeatWindow(context.Time, RepeatedWarningWindow);
        _upstreams.CameUp += _noneUp.Reset;
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
        IPEndPoint? proxied = null;
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
                // Passed on as it came: the address the client connected to at the load balancer.
                proxied = header.Destination;
                peer = EndpointText.Format(source);
                if (!_policy.Admits(EndpointText.Unmapped(source.Address)))
                {
                    client.CloseDetail = $"client {peer} (via {via}) is not allowed here";
                    return CloseReason.Denied;
                }
            }
        }

        var destination = proxied ?? client.Transport?.LocalEndPoint as IPEndPoint;
        var opened = await ConnectAsync(peer, remote, destination);
        if (opened is not var (upstream, connection, pipes))
        {
            client.CloseDetail = via is null ? null : $"client {peer} via {via}";
            return CloseReason.NoUpstream;
        }
        string detail = via is null ? $"upstream {upstream.Name}" : $"client {peer} via {via}, upstream {upstream.Name}";
        client.CloseDetail = detail;
        client.Description = upstream;
        try
        {
            var pair = new ForwardPair(client, connection, pipes, _options.FinTimeout, _options.Splice);
            var reason = await pair.RunAsync();
            client.CloseDetail = $"{detail}, {pair.Ending}";
            return reason;
        }
        finally
        {
            await CloseUpstreamAsync(connection, pipes);
            upstream.PairClosed();
        }
    }

    /// <summary>
    /// Ends the upstream side: what is still unsent goes first, within finTimeout (an upstream that
    /// stopped reading must not hold the pair for ever), then the socket is reset.
    /// </summary>
    private async Task CloseUpstreamAsync(SocketConnection connection, IDuplexPipe pipes)
    {
        Task closing = DisposeAsync(connection, pipes);
        if (closing.IsCompleted)
            return;
        try
        {
            await closing.WaitAsync(_options.FinTimeout);
        }
        catch (TimeoutException)
        {
            connection.Reset(new Microsoft.AspNetCore.Connections.ConnectionAbortedException("the upstream did not take the rest within finTimeout"));
            await closing;
        }

        static async Task DisposeAsync(SocketConnection connection, IDuplexPipe pipes)
        {
            if (pipes is IAsyncDisposable session)
                await session.DisposeAsync();
            await connection.DisposeAsync();
        }
    }

    /// <summary>
    /// Connects to an upstream, trying others after a failure (at most 1 + retries), with the PROXY
    /// header sent and TLS set up; logs one line when every upstream tried failed.
    /// </summary>
    private async ValueTask<(Upstream Upstream, SocketConnection Connection, IDuplexPipe Pipes)?> ConnectAsync(string peer,
        IPEndPoint? client, IPEndPoint? destination)
    {
        // The pair stays on the loop that serves the client: no thread hop between its two sockets.
        EpollLoop loop = EpollLoop.Current ?? EpollLoop.Next();
        PipeScheduler scheduler = EpollLoop.Current is null ? PipeScheduler.ThreadPool : PipeScheduler.Inline;
        List<Upstream>? tried = null;
        List<string>? failures = null;
        for (int attempt = 0; attempt <= _options.Retries; attempt++)
        {
            // Counted as open from here: leastconn and maxConnsPerUpstream see connects in flight.
            Upstream? upstream = _upstreams.Choose(tried);
            if (upstream is null)
                break;
            UpstreamEndpoint endpoint = upstream.NextEndpoint();
            if (_logger.IsEnabled(LogLevel.Debug))
                UpstreamChosen(_logger, _listener, peer, upstream.Name, endpoint.ToString());
            var result = await OutboundConnect.ConnectAsync(endpoint.EndPoint, endpoint.SocketAddress, loop, BlockPool.Default, scheduler,
                _options.ConnectTimeout);
            string? failure = result.Failure;
            var cause = ConnectFailureText.FromErrno(result.Errno);
            if (result.Connection is { } connection)
            {
                (IDuplexPipe? pipes, failure, cause) = await PrepareAsync(connection, upstream, client, destination);
                if (pipes is not null)
                {
                    upstream.Connected();
                    return (upstream, connection, pipes);
                }
                await connection.DisposeAsync();
            }
            upstream.PairClosed();
            if (upstream.ConnectFailed(failure!, cause))
                _ = upstream.ResolveAgainAsync();
            (tried ??= []).Add(upstream);
            (failures ??= []).Add($"{upstream.Name} ({endpoint}): {failure}");
        }
        if (failures is not null)
        {
            if (_failedConnects.ShouldLog(out long more))
                NoUpstreamConnected(_logger, _listener, peer, string.Join("; ", failures), Repeats(more));
        }
        else if (_noneUp.ShouldLog(out long more))
        {
            if (_upstreams.AllFull())
                EveryUpstreamFull(_logger, _listener, peer, _options.MaxConnsPerUpstream, Repeats(more));
            else
                NoUpstreamUp(_logger, _listener, peer, Repeats(more));
        }
        return null;
    }

    /// <summary>
    /// The PROXY header first (flushed: with a protocol where the server speaks first, the client
    /// sends nothing until it has), then TLS. Returns the upstream's pipes, or why it failed.
    /// </summary>
    private async ValueTask<(IDuplexPipe? Pipes, string? Failure, ConnectFailure Cause)> PrepareAsync(SocketConnection connection,
        Upstream upstream, IPEndPoint? client, IPEndPoint? destination)
    {
        if (_options.SendProxy != ProxyVersion.Off && client is not null && destination is not null)
        {
            byte[] header = _options.SendProxy == ProxyVersion.V1 ? ProxyHeader.V1(client, destination) : ProxyHeader.V2(client, destination);
            if ((await connection.Transport.Output.WriteAsync(header)).IsCompleted)
                return (null, "the connection ended before the PROXY header was sent", ConnectFailure.Other);
        }
        if (_tls is null)
            return (connection.Transport, null, default);
        (var session, string failure) = await _tls.ConnectAsync(connection.Transport, upstream.Address.Host!);
        return session is null ? (null, $"TLS: {failure}", ConnectFailure.Tls) : (session, null, default);
    }

    private static string Repeats(long more) => more == 0 ? "" : $" ({more} more since the last such line)";

    public void Report(ServiceReport report)
    {
        foreach (var upstream in _upstreams.All)
        {
            report.Add(ServiceMetric.UpstreamUp, upstream.IsDown ? 0 : 1, "upstream", upstream.Name);
            report.Add(ServiceMetric.UpstreamActive, upstream.Open, "upstream", upstream.Name);
            foreach (var cause in ConnectFailureText.All)
                report.Add(ServiceMetric.UpstreamConnectFailures, upstream.FailuresFor(cause), "upstream", upstream.Name, "cause", cause.Label());
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_checks is not null)
            await _checks.DisposeAsync();
    }

    [LoggerMessage(EventId = 62, Level = LogLevel.Warning, Message = "{Listener}: client {Peer}: no upstream connected: {Failures}{Repeats}")]
    private static partial void NoUpstreamConnected(ILogger logger, string listener, string peer, string failures, string repeats);

    [LoggerMessage(EventId = 67, Level = LogLevel.Warning,
        Message = "{Listener}: client {Peer}: every upstream that is up has maxConnsPerUpstream={Max} pairs, client closed{Repeats}")]
    private static partial void EveryUpstreamFull(ILogger logger, string listener, string peer, int max, string repeats);

    [LoggerMessage(EventId = 63, Level = LogLevel.Warning, Message = "{Listener}: client {Peer}: no upstream is up, client closed{Repeats}")]
    private static partial void NoUpstreamUp(ILogger logger, string listener, string peer, string repeats);

    [LoggerMessage(EventId = 64, Level = LogLevel.Debug, Message = "{Listener}: client {Peer} goes to upstream {Upstream} ({Address})")]
    private static partial void UpstreamChosen(ILogger logger, string listener, string peer, string upstream, string address);

    [LoggerMessage(EventId = 65, Level = LogLevel.Warning, Message = "{Listener}: client {Peer}: PROXY header refused: {Reason}{Repeats}")]
    private static partial void ProxyHeaderRefused(ILogger logger, string listener, string peer, string reason, string repeats);
}
