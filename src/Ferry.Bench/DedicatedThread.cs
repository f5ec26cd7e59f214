namespace Ferry.Bench;

/// <summary>
/// Runs a blocking loop on a thread of its own (the epoll engine's epoll_wait, the threads
/// engine's blocking sockets): such a loop must not hold a thread-pool thread, which the
/// progress display and the run's timers need.
/// </summary>
internal static class DedicatedThread
{
    /// <param name="stackBytes">The thread's stack, 0 for the runtime's default.</param>
    public static Task Start(string name, Action loop, int stackBytes = 0)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                loop();
                done.SetResult();
            }
            catch (Exception exception)
            {
                done.SetException(exception);
            }
        }, stackBytes)
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }
}
