using System.Text;
using Ferry.Protocol;

namespace Ferry.Daemon.Services.Chat;

/// <summary>Chat's wire lines: UTF-8, one '\n' at the end, nothing else.</summary>
internal static class ChatLine
{
    public static byte[] Encode(string text) => Encoding.UTF8.GetBytes(text + "\n");

    public static byte[] Message(string nick, string text) => Encode(ChatWire.Message(nick, text));

    public static byte[] Notice(string text) => Encode(ChatWire.Notice(text));

    public static byte[] Error(string text) => Encode(ChatWire.Error(text));
}
