using System.Globalization;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// A <c>unix:</c> listener's socket file and who may connect through it: <c>mode=</c>,
/// <c>owner=</c>, <c>group=</c> (also written <c>socketGroup=</c>, and only so for exec, whose
/// group= is its program's) as systemd's SocketMode, SocketUser and SocketGroup (mode 0666 unless
/// set), and <c>allowUid=</c>/<c>allowGid=</c>, checked against each peer's SO_PEERCRED.
/// </summary>
internal sealed record UnixSocketPolicy
{
    public const UnixFileMode DefaultMode = (UnixFileMode)0b110_110_110;  // 0666

    public UnixFileMode Mode { get; init; } = DefaultMode;

    public uint? Owner { get; init; }

    public uint? Group { get; init; }

    /// <summary>Null: any user the file's mode lets in.</summary>
    public IReadOnlySet<uint>? AllowUids { get; init; }

    /// <summary>Null: any group.</summary>
    public IReadOnlySet<uint>? AllowGids { get; init; }

    /// <summary>
    /// Users the per-source limits (counted per user here) do not apply to: root, and the user
    /// ferryd runs as, as loopback is exempt on TCP.
    /// </summary>
    public static bool IsExempt(uint userId) => userId == 0 || userId == UnixSocketCalls.EffectiveUserId;

    public bool Admits(PeerCredentials peer) =>
        (AllowUids is null || AllowUids.Contains(peer.UserId)) && (AllowGids is null || AllowGids.Contains(peer.GroupId));

    public static UnixSocketPolicy From(OptionReader reader, Services.ServiceTraits traits)
    {
        string groupKey = reader.Text("socketGroup") is not null || traits.OwnKeys.Contains("group") ? "socketGroup" : "group";
        bool isAbstract = reader.Spec.Path!.StartsWith('@');
        if (isAbstract)
        {
            foreach (string key in new[] { "mode", "owner", groupKey })
            {
                if (reader.Text(key) is { } value)
                    throw reader.Bad(key, value, $"{reader.Spec.Path} is in the abstract namespace: it has no file to own (restrict peers with allowUid= or allowGid=)");
            }
        }
        return new UnixSocketPolicy
        {
            Mode = ReadMode(reader),
            Owner = reader.Text("owner") is { Length: > 0 } owner ? UserId(reader, "owner", owner) : null,
            Group = reader.Text(groupKey) is { Length: > 0 } group ? GroupId(reader, groupKey, group) : null,
            AllowUids = reader.Text("allowUid") is null ? null : reader.List("allowUid").Select(u => UserId(reader, "allowUid", u.Trim())).ToHashSet(),
            AllowGids = reader.Text("allowGid") is null ? null : reader.List("allowGid").Select(g => GroupId(reader, "allowGid", g.Trim())).ToHashSet(),
        };
    }

    private static UnixFileMode ReadMode(OptionReader reader)
    {
        string? text = reader.Text("mode");
        if (text is null)
            return DefaultMode;
        int mode = 0;
        bool valid = text.Length is >= 3 and <= 4;
        foreach (char digit in text)
        {
            valid &= digit is >= '0' and <= '7';
            mode = mode * 8 + (digit - '0');
        }
        if (!valid || mode > 0b111_111_111)
            throw reader.Bad("mode", text, "not an octal file mode such as 0660 (permission bits only)");
        return (UnixFileMode)mode;
    }

    private static uint UserId(OptionReader reader, string key, string text)
    {
        if (uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
            return id;
        return Accounts.User(text, out string? problem)?.Id ?? throw reader.Unusable(key, text, problem ?? "no such user");
    }

    private static uint GroupId(OptionReader reader, string key, string text)
    {
        if (uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
            return id;
        return Accounts.Group(text, out string? problem) ?? throw reader.Unusable(key, text, problem ?? "no such group");
    }
}
