using System.Globalization;
using Ferry.Daemon.Services;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Reads the keys written for one listener (<c>PORT=SERVICE,key=value,...</c> or its JSON object),
/// typed and checked, for the listener itself (<see cref="ListenerPolicy"/>) and for its service:
/// one reader, one error format (<c>listener echo *:7: key=value: what is accepted</c>), and a key
/// nobody asked for is a mistake rather than a setting silently ignored.
/// </summary>
internal sealed class OptionReader(ListenerSpec spec)
{
    private readonly HashSet<string> _asked = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _serviceKeys = [];
    private bool _readingService;

    public ListenerSpec Spec => spec;

    /// <summary>Every key asked for so far, listener-level and service (the man page's drift test lists them so).</summary>
    internal IReadOnlyCollection<string> Asked => _asked;

    /// <summary>The keys first asked for after <see cref="BeginService"/>: the service's own.</summary>
    internal IReadOnlyList<string> ServiceKeys => _serviceKeys;

    /// <summary>The rest of the keys read belong to the service (for the "known:" list of an unknown key).</summary>
    public void BeginService() => _readingService = true;

    /// <summary>The value written for <paramref name="key"/>, trimmed, or null when not given.</summary>
    public string? Text(string key)
    {
        if (_asked.Add(key) && _readingService)
            _serviceKeys.Add(key);
        return spec.Options.TryGetValue(key, out string? value) ? value.Trim() : null;
    }

    public ServiceOptionException Bad(string key, string value, string rule) => new($"listener {spec}: {key}={value}: {rule}");

    public ServiceOptionException Problem(string problem) => new($"listener {spec}: {problem}");

    /// <summary>A well-formed value naming something this machine cannot give (a missing program): exit 6 wherever written.</summary>
    public ServiceOptionException Unusable(string key, string value, string why) => new($"listener {spec}: {key}={value}: {why}", aboutTheSystem: true);

    /// <summary>The ';'-separated list written for <paramref name="key"/> (a JSON array arrives so), or an empty one.</summary>
    public IReadOnlyList<string> List(string key) =>
        Text(key) is { Length: > 0 } text ? text.Split(';') : [];

    public double Number(string key, double fallback, double minimum, double maximum)
    {
        string? text = Text(key);
        if (text is null)
            return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            || !double.IsFinite(value) || value < minimum || value > maximum)
            throw Bad(key, text, $"not a number from {minimum} to {maximum}");
        return value;
    }

    public long Integer(string key, long fallback, long minimum, long maximum)
    {
        string? text = Text(key);
        if (text is null)
            return fallback;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value < minimum || value > maximum)
            throw Bad(key, text, $"not a whole number from {minimum} to {maximum}");
        return value;
    }

    /// <summary>A byte count: digits with an optional k or m suffix (KiB, MiB).</summary>
    public long Size(string key, long fallback, long minimum, long maximum)
    {
        string? text = Text(key);
        if (text is null)
            return fallback;
        string digits = text;
        long unit = char.ToLowerInvariant(digits.Length > 0 ? digits[^1] : ' ') switch { 'k' => 1024, 'm' => 1024 * 1024, _ => 1 };
        if (unit != 1)
            digits = digits[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            || value > maximum / unit || value * unit < minimum)
            throw Bad(key, text, $"not a byte count from {minimum} to {maximum} (suffix k or m allowed)");
        return value * unit;
    }

    public TimeSpan Seconds(string key, TimeSpan fallback, bool allowZero)
    {
        string? text = Text(key);
        if (text is null)
            return fallback;
        bool valid = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
            && double.IsFinite(seconds) && seconds <= 86_400 && (allowZero ? seconds >= 0 : seconds > 0);
        if (!valid)
            throw Bad(key, text, allowZero ? "not a number of seconds from 0 (off) to 86400" : "not a number of seconds above 0, at most 86400");
        return TimeSpan.FromSeconds(seconds);
    }

    public T Choice<T>(string key, T fallback, params (string Name, T Value)[] choices)
    {
        string? text = Text(key);
        if (text is null)
            return fallback;
        foreach (var (name, value) in choices)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
                return value;
        }
        throw Bad(key, text, "not one of " + string.Join(", ", choices.Select(c => c.Name)));
    }

    /// <summary>The words a switch is written with, in any case: on/off, true/false, yes/no, 1/0.</summary>
    private static readonly (string Name, bool Value)[] SwitchWords =
        [("on", true), ("off", false), ("true", true), ("false", false), ("yes", true), ("no", false), ("1", true), ("0", false)];

    /// <summary>What a refused switch is told.</summary>
    public static readonly string SwitchRule = "not one of " + string.Join(", ", SwitchWords.Select(w => w.Name));

    /// <summary>on/off (also true/false, yes/no, 1/0), or <paramref name="fallback"/> when not given.</summary>
    public bool Switch(string key, bool fallback)
    {
        string? text = Text(key);
        if (text is null)
            return fallback;
        return TryParseSwitch(text, out bool value) ? value : throw Bad(key, text, SwitchRule);
    }

    /// <summary>A switch's words, for a listener's options and elsewhere (<c>Logging:OpenLines</c>).</summary>
    public static bool TryParseSwitch(string text, out bool value)
    {
        foreach (var (name, meaning) in SwitchWords)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                value = meaning;
                return true;
            }
        }
        value = false;
        return false;
    }

    public AddressRanges? Ranges(string key)
    {
        string? text = Text(key);
        if (text is null)
            return null;
        if (!AddressRanges.TryParse(text, out var ranges, out string error))
            throw Bad(key, text, error);
        return ranges;
    }

    /// <summary>After the listener's and the service's keys were read: any other key written is a mistake.</summary>
    public void RejectUnknown()
    {
        foreach (string key in spec.Options.Keys)
        {
            if (_asked.Contains(key))
                continue;
            string accepted = _serviceKeys.Count == 0 ? "it takes no options" : "known: " + string.Join(", ", _serviceKeys);
            throw Problem($"unknown option '{key}' for {spec.Service} ({accepted})");
        }
    }
}
