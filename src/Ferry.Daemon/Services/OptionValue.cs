using System.Globalization;

namespace Ferry.Daemon.Services;

/// <summary>
/// Reads typed listener options (<c>PORT=SERVICE,key=value</c>); a bad value becomes a
/// <see cref="ServiceOptionException"/> naming the listener, the key and what is accepted.
/// </summary>
internal static class OptionValue
{
    public static int Integer(ServiceContext context, string key, int fallback, int min, int max)
    {
        string? text = context.Option(key);
        if (text is null)
            return fallback;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            throw Bad(context, key, text, $"a whole number from {min} to {max}");
        return value;
    }

    /// <summary>A byte count: digits with an optional k or m suffix (KiB, MiB).</summary>
    public static long Size(ServiceContext context, string key, long fallback, long min, long max)
    {
        string? text = context.Option(key);
        if (text is null)
            return fallback;
        string digits = text.Trim();
        long unit = 1;
        if (digits.EndsWith('k') || digits.EndsWith('K'))
            unit = 1024;
        else if (digits.EndsWith('m') || digits.EndsWith('M'))
            unit = 1024 * 1024;
        if (unit != 1)
            digits = digits[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            || value > max / unit || value * unit < min)
            throw Bad(context, key, text, $"a byte count from {min} to {max} (suffix k or m allowed)");
        return value * unit;
    }

    public static T Choice<T>(ServiceContext context, string key, T fallback, params (string Name, T Value)[] choices)
    {
        string? text = context.Option(key);
        if (text is null)
            return fallback;
        foreach (var (name, value) in choices)
            if (string.Equals(name, text.Trim(), StringComparison.OrdinalIgnoreCase))
                return value;
        throw Bad(context, key, text, "one of " + string.Join(", ", choices.Select(c => c.Name)));
    }

    public static ServiceOptionException Bad(ServiceContext context, string key, string value, string accepted) =>
        new($"listener {context.Spec}: bad value '{value}' for {key} (expected {accepted})");
}
