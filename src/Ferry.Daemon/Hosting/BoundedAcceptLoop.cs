using System.Net.Sockets;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// The accept loop of ferryd's own small endpoints (the status socket, <c>/metrics</c>): each
/// client is answered on a task of its own, at most as many at once as <c>slots</c> allows, so a
/// client that sends nothing holds one slot for its timeout, not the socket. A failed accept
/// (EMFILE and the like; the listeners log descriptor shortages) is retried after a pause. Ends
/// when <c>stop</c> fires or the socket is closed, once the answers in flight are done.
/// </summary>
internal static class BoundedAcceptLoop
{
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(100);

    /// <param name="answer">Answers one client; must not throw. The client is closed and its slot freed after it.</param>
    public static async Task RunAsync(Socket listening, SemaphoreSlim slots, Func<Socket, Task> answer, CancellationToken stop)
    {
        var answering = new List<Task>();
        while (true)
        {
            Socket client;
            try
            {
                await slots.WaitAsync(stop);
                client = await listening.AcceptAsync(stop);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException)
            {
                slots.Release();
                if (stop.IsCancellationRequested)
                    break;
                try
                {
                    await Task.Delay(RetryPause, stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                continue;
            }
            answering.RemoveAll(t => t.IsCompleted);
            answering.Add(AnswerAsync(client));
        }
        await Task.WhenAll(answering);

        async Task AnswerAsync(Socket client)
        {
            try
            {
                using (client)
                    await answer(client);
            }
            finally
            {
                slots.Release();
            }
        }
    }
}
