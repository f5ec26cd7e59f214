using Ferry.Bench.Reports;

namespace Ferry.Bench;

/// <summary>
/// What the client and the server spent between the start and the end of the measured
/// window: the client's gen-0 collections, allocated bytes and CPU time, and the server's CPU
/// time when its pid is known. Read right beside <see cref="BenchPhase.BeginMeasuring"/> and
/// <see cref="BenchPhase.Stop"/>, so the costs and the operations counted cover the same time.
/// </summary>
internal sealed class MeasurementWindow
{
    private readonly int? _serverPid;
    private readonly int _gen0 = GC.CollectionCount(0);
    private readonly long _allocated = GC.GetTotalAllocatedBytes();
    private readonly TimeSpan _clientCpu = Environment.CpuUsage.TotalTime;
    private readonly TimeSpan? _serverCpu;

    private MeasurementWindow(int? serverPid)
    {
        _serverPid = serverPid;
        _serverCpu = serverPid is int pid ? ServerProcess.CpuTime(pid) : null;
    }

    public static MeasurementWindow Open(int? serverPid) => new(serverPid);

    public WindowCosts Close()
    {
        TimeSpan? serverCpu = _serverPid is int pid && ServerProcess.CpuTime(pid) is TimeSpan now && _serverCpu is TimeSpan before
            ? now - before
            : null;
        return new WindowCosts(
            GC.CollectionCount(0) - _gen0,
            GC.GetTotalAllocatedBytes() - _allocated,
            Environment.CpuUsage.TotalTime - _clientCpu,
            serverCpu);
    }
}
