using System.Globalization;
using System.Text;

namespace Ferry.Daemon.Logging;

/// <summary>
/// A line's time as local time with its offset, "2026-12-03 09:30:17.123 +00:00", written to
/// UTF-8 from the clock's UTC time. Everything but the milliseconds changes once a second, so it
/// is converted and formatted once a second and copied otherwise: a zone's offset changes only
/// on a whole second, and milliseconds are the same in every zone. Not thread-safe: each
/// <see cref="LogFile"/> has one and uses it under its lock.
/// </summary>
internal sealed class LogTimestamp(TimeZoneInfo zone)
{
    public const int Length = 30;

    private readonly byte[] _second = new byte[Length];
    private long _secondTicks = -1;

    public LogTimestamp()
        : this(TimeZoneInfo.Local)
    {
    }

    /// <summary>Writes <paramref name="utc"/> in the zone: the first <see cref="Length"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(DateTime utc, Span<byte> destination)
    {
        long secondTicks = utc.Ticks - utc.Ticks % TimeSpan.TicksPerSecond;
        if (secondTicks != _secondTicks)
        {
            var local = TimeZoneInfo.ConvertTime(new DateTimeOffset(secondTicks, TimeSpan.Zero), zone);
            Encoding.ASCII.GetBytes(local.ToString("yyyy-MM-dd HH:mm:ss.000 zzz", CultureInfo.InvariantCulture), _second);
            _secondTicks = secondTicks;
        }
        _second.CopyTo(destination);
        // Milliseconds in place of the 000.
        int milliseconds = utc.Millisecond;
        destination[20] = (byte)('0' + milliseconds / 100);
        destination[21] = (byte)('0' + milliseconds / 10 % 10);
        destination[22] = (byte)('0' + milliseconds % 10);
    }
}
