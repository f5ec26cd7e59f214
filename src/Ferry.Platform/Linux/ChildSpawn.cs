using System.Runtime.InteropServices;
using System.Text;

namespace Ferry.Platform.Linux;

/// <summary>Where a child's standard error goes.</summary>
public enum ChildStderr
{
    /// <summary>To a descriptor of the parent's (a socket it reads lines from).</summary>
    Descriptor,

    /// <summary>Merged with standard output: the same socket as fd 1.</summary>
    SameAsOutput,

    /// <summary>/dev/null.</summary>
    Discarded,
}

/// <summary>
/// Starts a program with <c>posix_spawn</c>: glibc clones with <c>CLONE_VM | CLONE_VFORK</c>, so
/// the parent's page tables are not copied (a fork of a managed process would copy hundreds of
/// megabytes of mappings), and an exec failure comes back as the call's result. In the child, one
/// socket is fd 0 and fd 1, standard error is as asked, every other descriptor is closed
/// (<c>closefrom(3)</c>: nothing of the parent's leaks, whatever its close-on-exec flags), signal
/// dispositions are the defaults (the runtime ignores SIGPIPE; ignored signals survive exec), the
/// signal mask is empty, and the child leads a new session, so its whole process group can be
/// signalled and no terminal signal of the parent's reaches it.
/// </summary>
public static unsafe partial class ChildSpawn
{
    private const short SetSignalDefaults = 0x04; // POSIX_SPAWN_SETSIGDEF
    private const short SetSignalMask = 0x08;     // POSIX_SPAWN_SETSIGMASK
    private const short SetSession = 0x80;        // POSIX_SPAWN_SETSID
    private const int FirstInheritedOnly = 3;

    // glibc's posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336, sigset_t 128: room to spare.
    private const int OpaqueSize = 512;

    /// <summary>
    /// Starts <paramref name="path"/> with <paramref name="arguments"/> (argv, its first the
    /// program's name) and exactly <paramref name="environment"/> ("NAME=VALUE"), in
    /// <paramref name="directory"/>. Returns 0 and the pid, or the errno of the failure
    /// (ENOENT, EACCES, ENOEXEC from exec; EAGAIN when no process could be made).
    /// </summary>
    public static int Start(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, string directory,
        int stdio, ChildStderr stderrMode, int stderr, out int pid)
    {
        pid = 0;
        byte* fileActions = stackalloc byte[OpaqueSize];
        byte* attributes = stackalloc byte[OpaqueSize];
        byte* signals = stackalloc byte[OpaqueSize];
        using var strings = new CStrings(path, directory, "/dev/null", arguments, environment);
        int error = FileActionsInit(fileActions);
        if (error != 0)
            return error;
        try
        {
            error = AttributesInit(attributes);
            if (error != 0)
                return error;
            try
            {
                error = Check(AddDuplicate(fileActions, stdio, 0))
                    ?? Check(AddDuplicate(fileActions, stdio, 1))
                    ?? Check(stderrMode switch
                    {
                        ChildStderr.Descriptor => AddDuplicate(fileActions, stderr, 2),
                        ChildStderr.SameAsOutput => AddDuplicate(fileActions, stdio, 2),
                        _ => AddOpen(fileActions, 2, strings.NullDevice, DescriptorCalls.WriteOnly, 0),
                    })
                    ?? Check(AddCloseFrom(fileActions, FirstInheritedOnly))
                    ?? Check(AddChangeDirectory(fileActions, strings.Directory))
                    ?? Check(SignalsFill(signals) == 0 ? AttributesSetSignalDefaults(attributes, signals) : Errno.Last)
                    ?? Check(SignalsEmpty(signals) == 0 ? AttributesSetSignalMask(attributes, signals) : Errno.Last)
                    ?? Check(AttributesSetFlags(attributes, SetSignalDefaults | SetSignalMask | SetSession))
                    ?? 0;
                if (error != 0)
                    return error;
                int child;
                error = Spawn(&child, strings.Path, fileActions, attributes, strings.Arguments, strings.Environment);
                if (error == 0)
                    pid = child;
                return error;
            }
            finally
            {
                AttributesDestroy(attributes);
            }
        }
        finally
        {
            FileActionsDestroy(fileActions);
        }
    }

    private static int? Check(int result) => result == 0 ? null : result;

    /// <summary>Every string the spawn needs, NUL-terminated in one native block, with argv and envp arrays.</summary>
    private readonly struct CStrings : IDisposable
    {
        private readonly byte* _block;

        public CStrings(string path, string directory, string nullDevice, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
        {
            int count = 3 + arguments.Count + environment.Count;
            int pointers = (arguments.Count + 1 + environment.Count + 1) * sizeof(nint);
            int bytes = Encoding.UTF8.GetByteCount(path) + Encoding.UTF8.GetByteCount(directory) + Encoding.UTF8.GetByteCount(nullDevice) + count;
            foreach (string s in arguments)
                bytes += Encoding.UTF8.GetByteCount(s);
            foreach (string s in environment)
                bytes += Encoding.UTF8.GetByteCount(s);
            _block = (byte*)NativeMemory.Alloc((nuint)(pointers + bytes));
            Arguments = (byte**)_block;
            Environment = Arguments + arguments.Count + 1;
            byte* next = _block + pointers;
            Path = Put(path, ref next);
            Directory = Put(directory, ref next);
            NullDevice = Put(nullDevice, ref next);
            for (int i = 0; i < arguments.Count; i++)
                Arguments[i] = Put(arguments[i], ref next);
            Arguments[arguments.Count] = null;
            for (int i = 0; i < environment.Count; i++)
                Environment[i] = Put(environment[i], ref next);
            Environment[environment.Count] = null;
        }

        public byte* Path { get; }

        public byte* Directory { get; }

        public byte* NullDevice { get; }

        public byte** Arguments { get; }

        public byte** Environment { get; }

        private static byte* Put(string text, ref byte* next)
        {
            byte* start = next;
            int length = Encoding.UTF8.GetBytes(text, new Span<byte>(next, int.MaxValue / 2));
            next[length] = 0;
            next += length + 1;
            return start;
        }

        public void Dispose() => NativeMemory.Free(_block);
    }

    [LibraryImport(Libc.Name, EntryPoint = "posix_spawn")]
    private static partial int Spawn(int* pid, byte* path, byte* fileActions, byte* attributes, byte** arguments, byte** environment);

    [LibraryImport(Libc.Name, EntryPoint = "posix_spawn_file_actions_init")]
    private static partial int FileActionsInit(byte* fileActions);

    [LibraryImport(Libc.Name, EntryPoint = "posix_spawn_file_actions_destroy")]
    private static partial int FileActionsDestroy(byte* fileActions);

    [LibraryImport(Libc.Name, EntryPoint = "posix_spawn_file_actions_adddup2")]
    private static partial int AddDuplicate(byte* fileActions, int descriptor, int target);

    [LibraryImport(Libc.Name, EntryPoint = "posix_spawn_file_actions_addopen")]
    private static partial int AddOpen(byte* fileActions, int descriptor, byte* path, int flags, int mode);

    [LibraryImport(Libc.Name, EntryPoint = "posix_spawn_file_actions_addclosefrom_np")]
    private static partial int AddCloseFrom(byte* fileActions, int first);

    [LibraryImport(Libc.Name, EntryPoint = "posix_spawn_file_actions_addchdir_np")]
    private static partial int AddChangeDirectory(byte* fileActions, byte* path);

    [LibraryImport(Libc.Name, EntryPoint = "posix_spawnattr_init")]
    private static partial int AttributesInit(byte* attributes);

    [LibraryImport(Libc.Name, EntryPoint = "posix_spawnattr_destroy")]
    private static partial int AttributesDestroy(byte* attributes);

    [LibraryImport(Libc.Name, EntryPoint = "posix_spawnattr_setflags")]
    private static partial int AttributesSetFlags(byte* attributes, short flags);

    [LibraryImport(Libc.Name, EntryPoint = "posix_spawnattr_setsigdefault")]
    private static partial int AttributesSetSignalDefaults(byte* attributes, byte* signals);

    [LibraryImport(Libc.Name, EntryPoint = "posix_spawnattr_setsigmask")]
    private static partial int AttributesSetSignalMask(byte* attributes, byte* signals);

    [LibraryImport(Libc.Name, EntryPoint = "sigfillset", SetLastError = true)]
    private static partial int SignalsFill(byte* signals);

    [LibraryImport(Libc.Name, EntryPoint = "sigemptyset", SetLastError = true)]
    private static partial int SignalsEmpty(byte* signals);
}
