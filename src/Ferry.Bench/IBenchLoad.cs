namespace Ferry.Bench;

/// <summary>
/// The connections of one run and the engine that drives them, for <see cref="BenchRun"/>'s
/// fixed sequence: open, run (warm-up and measurement are the phase's business), dispose.
/// </summary>
internal interface IBenchLoad : IDisposable
{
    /// <summary>Opens what must exist before the clock starts; a server that cannot be reached ends the run here.</summary>
    Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Runs until the phase stops and everything in flight is settled, or until
    /// <paramref name="deadline"/> is cancelled: what is unfinished then is counted as errors.
    /// </summary>
    Task RunAsync(CancellationToken deadline);
}
