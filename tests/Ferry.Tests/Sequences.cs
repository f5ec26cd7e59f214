using System.Buffers;

namespace Ferry.Tests;

/// <summary>Builds <see cref="ReadOnlySequence{T}"/>s from linked segments, as a PipeReader hands them out.</summary>
internal static class Sequences
{
    public static ReadOnlySequence<byte> FromSegments(params byte[][] parts)
    {
        if (parts.Length == 0)
            return ReadOnlySequence<byte>.Empty;
        var first = new Segment(parts[0], 0);
        var last = first;
        for (int i = 1; i < parts.Length; i++)
            last = last.Append(parts[i]);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Cuts <paramref name="bytes"/> into segments at random positions (each segment at least one byte).</summary>
    public static ReadOnlySequence<byte> RandomlySegmented(byte[] bytes, Random random, int maxSegment = 7)
    {
        if (bytes.Length == 0)
            return ReadOnlySequence<byte>.Empty;
        return FromSegments(RandomChunks(bytes, random, maxSegment).ToArray());
    }

    /// <summary>Splits <paramref name="bytes"/> into consecutive non-empty chunks of 1..maxChunk bytes.</summary>
    public static List<byte[]> RandomChunks(byte[] bytes, Random random, int maxChunk)
    {
        var chunks = new List<byte[]>();
        int at = 0;
        while (at < bytes.Length)
        {
            int size = Math.Min(random.Next(1, maxChunk + 1), bytes.Length - at);
            chunks.Add(bytes[at..(at + size)]);
            at += size;
        }
        return chunks;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
