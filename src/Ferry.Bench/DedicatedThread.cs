namespace Ferry.Client.Bench;

/// <summary>
/// Runs an epoll engine's loop on a thread of its own: the loop blocks in epoll_wait, which
/// must not hold a thread-pool thread (the progress display and the run's timers need those).
/// </summary>
internal static class EpollThread
{
    public static Task Start(string name, Action loop)
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
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }
}
