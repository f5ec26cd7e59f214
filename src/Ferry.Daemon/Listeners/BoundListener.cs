using System.Net;
using System.Net.Sockets;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// A listener whose socket is bound and listening: the settings it came from, the real
/// endpoint (port 0 resolved) and the counters its connections update.
/// </summary>
internal sealed class BoundListener(ListenerSettings settings, Socket socket)
{
    public ListenerSettings Settings { get; } = settings;

    public ListenerSpec Spec => Settings.Spec;

    /// <summary>
    /// The listening socket; its <see cref="RunningListener"/> accepts on it and closes it when it
    /// stops. Replaced only by a reload's rollback, with one bound to the same endpoint.
    /// </summary>
    public Socket Socket { get; private set; } = socket;

    public IPEndPoint EndPoint { get; } = (IPEndPoint)socket.LocalEndPoint!;

    public void Rebound(Socket socket) => Socket = socket;

    public string Service => Spec.Service;

    /// <summary>Its counts; shared with the listener it replaced in a reload (<see cref="ContinueCounting"/>).</summary>
    public ListenerCounters Counters { get; private set; } = new();

    /// <summary>Before it accepts: counts on from where <paramref name="predecessor"/>, which it replaces, got.</summary>
    public void ContinueCounting(BoundListener predecessor) => Counters = predecessor.Counters;

    /// <summary>
    /// The listener label of its metrics: the name it has in the config file, else SERVICE-PORT
    /// ("echo-7"); the sockets of a host name with two addresses share it.
    /// </summary>
    public string Label => field ??= Spec.Name ?? $"{Spec.Service}-{EndPoint.Port}";

    /// <summary>How logs and the startup line name this listener, e.g. "echo 127.0.0.1:7".</summary>
    public string Name => $"{Spec.Service} {EndPoint}";
}
