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
    private const int BufferSize = 16 * 1024;

    [LibraryImport(Libc.Name, EntryPoint = "getpwnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FindUser(string name, byte* entry, byte* buffer, nuint length, byte** result);

    [LibraryImport(Libc.Name, EntryPoint = "getgrnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FindGroupCall(string name, byte* entry, byte* buffer, nuint length, byte** result);

    /// <summary>The user called <paramref name="name"/>, or null with why ("no such user").</summary>
    public static UserAccount? User(string name, out string? problem)
    {
        byte* entry = stackalloc byte[PasswordSize];
        byte* buffer = (byte*)NativeMemory.Alloc(BufferSize);
        try
        {
            byte* found;
            int error = FindUser(name, entry, buffer, BufferSize, &found);
            if (found == null)
            {
                problem = error == 0 ? "no such user" : Errno.Describe(error);
                return null;
            }
            problem = null;
            string home = Marshal.PtrToStringUTF8(*(nint*)(entry + PasswordDirectory)) ?? "/";
            return new UserAccount(name, *(uint*)(entry + PasswordUid), *(uint*)(entry + PasswordGid), home);
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    /// <summary>The id of group <paramref name="name"/>, or null with why.</summary>
    public static uint? Group(string name, out string? problem)
    {
        byte* entry = stackalloc byte[GroupSize];
        byte* buffer = (byte*)NativeMemory.Alloc(BufferSize);
        try
        {
            byte* found;
            int error = FindGroupCall(name, entry, buffer, BufferSize, &found);
            if (found == null)
            {
                problem = error == 0 ? "no such group" : Errno.Describe(error);
                return null;
            }
            problem = null;
            return *(uint*)(entry + GroupGid);
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }
}
