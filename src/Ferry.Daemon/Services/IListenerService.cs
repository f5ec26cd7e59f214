namespace Ferry.Daemon.Services;

/// <summary>
/// What a listener runs: an <see cref="IConnectionService"/> serves a connection at a time (TCP,
/// unix:), an <see cref="IDatagramService"/> answers datagrams (udp:); echo, discard, daytime and
/// chargen are both. One instance per listener (or per listeners that share it, <see cref="ServiceSet"/>).
/// </summary>
internal interface IListenerService;
