using Ferry.Daemon.Listeners;
using Ferry.Daemon.Logging;
using Ferry.Daemon.Services;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Extensions.Logging;
using Log = Ferry.Daemon.Logging.Log;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// Runs ferryd in the foreground: binds every listener, serves them with Kestrel connection
/// handlers (no HTTP anywhere), prints one "listening SERVICE ADDR:PORT" line per listener,
/// and on SIGTERM/SIGINT stops accepting, lets connections finish, and exits by the deadline.
/// </summary>
internal static class ServerHost
{
    public static async Task<int> RunAsync(ServerSettings settings, TextWriter stdout)
    {
        using var serilog = SerilogSetup.Create(settings.Logging);
        using var loggers = new SerilogLoggerFactory(serilog);
        // Services first: a bad listener option is reported before any port is taken.
        // By reference: two listeners may be written alike ("127.0.0.1:0" twice) yet be distinct.
        var services = new Dictionary<ListenerSpec, IConnectionService>(ReferenceEqualityComparer.Instance);
        foreach (var spec in settings.Listeners)
            services[spec] = ServiceCatalog.Create(new ServiceContext(spec, TimeProvider.System, loggers));
        var listeners = await ListenerBinder.BindAllAsync(settings.Listeners, CancellationToken.None);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            // Never the current directory: a daemon runs in "/" and must not watch it.
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(settings.Logging.MinimumLevel);
        builder.Logging.AddSerilog(serilog);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownTimeout);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.WebHost.UseKestrelCore();
        builder.WebHost.UseSockets(o =>
        {
            // Kestrel adopts the sockets we bound instead of binding its own.
            var byEndpoint = listeners.ToDictionary(l => (System.Net.EndPoint)l.EndPoint, l => l.Socket);
            o.CreateBoundListenSocket = endpoint => byEndpoint[endpoint];
        });

        var connectionLogger = loggers.CreateLogger("ferryd.connections");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (var listener in listeners)
            {
                var handler = new ListenerConnectionHandler(listener, services[listener.Spec], connectionLogger);
                kestrel.Listen(listener.EndPoint, options => options.Use(_ => handler.OnConnectedAsync));
            }
        });

        await using var app = builder.Build();
        var logger = loggers.CreateLogger("ferryd");
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStopping.Register(() =>
            Log.Stopping(logger, listeners.Sum(l => l.Counters.Active), settings.ShutdownTimeout));

        await app.StartAsync();
        foreach (var listener in listeners)
        {
            stdout.WriteLine($"listening {listener.Service} {listener.EndPoint}");
            Log.Listening(logger, listener.Service, listener.EndPoint.ToString());
        }
        stdout.Flush();

        await app.WaitForShutdownAsync();
        // Connections have drained (or hit the deadline); now services flush what they hold.
        foreach (var service in services.Values.OfType<IAsyncDisposable>())
            await service.DisposeAsync();
        Log.Stopped(logger);
        return ExitCodes.Ok;
    }
}
