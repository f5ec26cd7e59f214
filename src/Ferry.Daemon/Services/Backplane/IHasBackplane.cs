namespace Ferry.Daemon.Services.Backplane;

/// <summary>A service whose fan-out may go through a backplane (chat, broker): its state for "ferryd status", null without one.</summary>
internal interface IHasBackplane
{
    BackplaneState? Backplane { get; }
}

/// <summary>A backplane's numbers for the metrics.</summary>
internal static class BackplaneReport
{
    public static void Add(ServiceReport report, BackplaneState? state)
    {
        if (state is null)
            return;
        report.Add(ServiceMetric.BackplaneUp, state.Connected ? 1 : 0);
        report.Add(ServiceMetric.BackplaneBufferedLines, state.BufferedLines);
        report.Add(ServiceMetric.BackplaneDroppedLines, state.DroppedLines);
        report.Add(ServiceMetric.BackplaneLostLines, state.LostLines);
    }
}
