using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Ferry.Daemon.Services.Sink;

/// <summary>
/// How a record becomes bytes in the file. With a text prefix the line's bytes are kept exactly
/// as sent (invalid UTF-8 and NUL included: a log collector must not rewrite what it collects);
/// JSON Lines must be valid UTF-8, so there invalid sequences become U+FFFD and control
/// characters (NUL too) are escaped by the JSON writer.
/// </summary>
internal static class SinkFormat
{
    private static readonly JsonWriterOptions JsonOptions = new()
    {
        // Readable non-ASCII in the file; quotes, backslashes and controls are still escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    public static string Time(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static void Append(ArrayBufferWriter<byte> output, SinkRecord record, SinkPrefix prefix)
    {
        switch (prefix)
        {
            case SinkPrefix.Time:
                Text(output, Time(record.Received) + " ");
                break;
            case SinkPrefix.Peer:
                Text(output, record.Peer + " ");
                break;
            case SinkPrefix.TimeAndPeer:
                Text(output, Time(record.Received) + " " + record.Peer + " ");
                break;
            case SinkPrefix.Json:
                AppendJson(output, record);
                return;
        }
        output.Write(record.Line);
        output.Write("\n"u8);
    }

    private static void AppendJson(ArrayBufferWriter<byte> output, SinkRecord record)
    {
        using (var json = new Utf8JsonWriter(output, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("time", Time(record.Received));
            json.WriteString("peer", record.Peer);
            json.WriteString("line", Encoding.UTF8.GetString(record.Line));
            json.WriteEndObject();
        }
        output.Write("\n"u8);
    }

    private static void Text(ArrayBufferWriter<byte> output, string text)
    {
        int count = Encoding.UTF8.GetBytes(text, output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length)));
        output.Advance(count);
    }
}
