namespace Ferry.Daemon.Hosting;

/// <summary>The result of the latest reload, reported by "ferryd status" and "ferryd reload".</summary>
internal sealed record ReloadOutcome(int Generation, bool Succeeded, string Message, DateTimeOffset At);
