using System.Runtime.InteropServices;

namespace Ferry.Platform.Linux;

/// <summary>A user account as the system's name service knows it (files, LDAP, systemd's dynamic users).</summary>
public sealed record UserAccount(string Name, uint Id, uint GroupId, string Home);

/// <summary>
/// Users and groups by name, through glibc's <c>getpwnam_r</c> and <c>getgrnam_r</c>, so every
/// source nsswitch.conf names is asked, not only /etc/passwd.
/// </summary>
public static unsafe partial class Accounts
{
    // struct passwd and struct group on LP64 Linux (x86_64, aarch64).
    private const int PasswordSize = 48;
    private const int PasswordUid = 16;
    private const int PasswordGid = 20;
    private const int PasswordDirectory = 32;
    private const int GroupSize = 32;
    private const int GroupGid = 16;
    private const int FirstBufferSize = 16 * 1024;
    private const int LargestBufferSize = 4 * 1024 * 1024;
    private const int RangeError = 34;  // ERANGE: the entry does not fit the buffer (a group of thousands)

    [LibraryImport(Libc.Name, EntryPoint = "getpwnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FindUser(string name, byte* entry, byte* buffer, nuint length, byte** result);

    [LibraryImport(Libc.Name, EntryPoint = "getgrnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FindGroupCall(string name, byte* entry, byte* buffer, nuint length, byte** result);

    /// <summary>The user called <paramref name="name"/>, or null with why ("no such user").</summary>
    public static UserAccount? User(string name, out string? problem)
    {
        byte* entry = stackalloc byte[PasswordSize];
        UserAccount? found = null;
        problem = Lookup((buffer, length) =>
        {
            byte* result;
            int error = FindUser(name, entry, buffer, length, &result);
            if (error == 0 && result != null)
            {
                string home = Marshal.PtrToStringUTF8(*(nint*)(entry + PasswordDirectory)) ?? "/";
                found = new UserAccount(name, *(uint*)(entry + PasswordUid), *(uint*)(entry + PasswordGid), home);
            }
            return error;
        }, "no such user", () => found is not null);
        return found;
    }

    /// <summary>The id of group <paramref name="name"/>, or null with why.</summary>
    public static uint? Group(string name, out string? problem)
    {
        byte* entry = stackalloc byte[GroupSize];
        uint? found = null;
        problem = Lookup((buffer, length) =>
        {
            byte* result;
            int error = FindGroupCall(name, entry, buffer, length, &result);
            if (error == 0 && result != null)
                found = *(uint*)(entry + GroupGid);
            return error;
        }, "no such group", () => found is not null);
        return found;
    }

    private delegate int Attempt(byte* buffer, nuint length);

    /// <summary>Calls a *_r lookup with a buffer that doubles while the entry does not fit; null when found, else why not.</summary>
    private static string? Lookup(Attempt attempt, string notFound, Func<bool> found)
    {
        for (int size = FirstBufferSize; ; size *= 2)
        {
            byte* buffer = (byte*)NativeMemory.Alloc((nuint)size);
            int error;
            try
            {
                error = attempt(buffer, (nuint)size);
            }
            finally
            {
                NativeMemory.Free(buffer);
            }
            if (error == RangeError && size < LargestBufferSize)
                continue;
            if (found())
                return null;
            return error == 0 ? notFound : Errno.Describe(error);
        }
    }
}
