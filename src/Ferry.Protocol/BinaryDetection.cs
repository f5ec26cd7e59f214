using System.Buffers;
using System.Text;

namespace Ferry.Protocol;

/// <summary>
/// Tells binary input from text the way GNU grep does: bytes are binary when they hold a NUL
/// or are not UTF-8. A multi-byte character cut off at the end of the bytes is not held
/// against them (the rest may be in the next read).
/// </summary>
public static class BinaryDetection
{
    public static bool IsBinary(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Contains((byte)0))
            return true;
        while (!bytes.IsEmpty)
        {
            OperationStatus status = Rune.DecodeFromUtf8(bytes, out _, out int consumed);
            if (status == OperationStatus.NeedMoreData)
                return false;
            if (status != OperationStatus.Done)
                return true;
            bytes = bytes[consumed..];
        }
        return false;
    }
}
