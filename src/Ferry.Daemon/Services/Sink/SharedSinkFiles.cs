using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services.Sink;

/// <summary>
/// One <see cref="SinkWriter"/> per file in the process, however many sink listeners name it
/// (<c>127.0.0.1:P</c> and <c>[::1]:P</c> with the same <c>path=</c>): one writer orders the
/// lines of all of them, so they never interleave inside a line. Listeners sharing a file must
/// agree on how it is written (prefix, fsync); the writer closes with its last listener.
/// </summary>
internal static class SharedSinkFiles
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, Entry> Open = new(StringComparer.Ordinal);

    private sealed class Entry(SinkWriter writer, SinkOptions options, string listener)
    {
        public SinkWriter Writer { get; } = writer;

        public SinkOptions Options { get; } = options;

        public string Listener { get; } = listener;

        public int Users { get; set; } = 1;
    }

    /// <summary>The writer of <paramref name="options"/>' file, opened now if no listener has it yet; give it back with <see cref="ReleaseAsync"/>.</summary>
    public static SinkWriter Acquire(SinkOptions options, string listener, TimeProvider time, ILogger logger)
    {
        lock (Gate)
        {
            if (Open.TryGetValue(options.Path, out var entry))
            {
                if (entry.Options.Prefix != options.Prefix || entry.Options.Fsync != options.Fsync)
                {
                    throw new ServiceOptionException($"listener {listener}: {options.Path} is also the file of listener {entry.Listener}, "
                        + "which writes it with other prefix= or fsync= settings; listeners sharing a sink file must agree");
                }
                entry.Users++;
                return entry.Writer;
            }
            var file = new SinkFile(options.Path);
            try
            {
                file.Open();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ServiceOptionException($"listener {listener}: cannot open {options.Path}: {SinkWriter.Describe(ex)}", aboutTheSystem: true);
            }
            var writer = new SinkWriter(file, options.Prefix, options.Fsync, time, logger);
            Open[options.Path] = new Entry(writer, options, listener);
            return writer;
        }
    }

    /// <summary>The writers open now and their files, for the metrics.</summary>
    public static IReadOnlyList<(string Path, SinkWriter Writer)> Writers()
    {
        lock (Gate)
            return [.. Open.Select(o => (o.Key, o.Value.Writer))];
    }

    /// <summary>One listener is done with the file; the last one closes it (flushed and synced).</summary>
    public static async ValueTask ReleaseAsync(SinkWriter writer)
    {
        bool last = false;
        lock (Gate)
        {
            var entry = Open.Values.First(e => ReferenceEquals(e.Writer, writer));
            if (--entry.Users == 0)
            {
                Open.Remove(entry.Options.Path);
                last = true;
            }
        }
        if (last)
            await writer.DisposeAsync();
    }
}
