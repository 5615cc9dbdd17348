using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Orleans.LlmRouter.Providers.Bedrock;

/// <summary>
/// Reads the AWS event-stream binary framing (what ConverseStream answers with): each message is a 12-byte prelude
/// (total length, headers length, CRC-32 of those 8 bytes), the headers (name length, name, value type, value), the
/// payload, and a CRC-32 of everything before it. Both CRCs are checked (<see cref="Crc32"/>); a frame that breaks the
/// format is a <see cref="FormatException"/> (an invalid answer), a body that ends inside a frame an
/// <see cref="EndOfStreamException"/> (a cut stream).
/// </summary>
internal static class EventStreamReader
{
    private const int PreludeLength = 12;
    private const int MinimumMessage = PreludeLength + 4;

    /// <summary>The largest message accepted (the format's own limit is 16 MiB).</summary>
    public const int MaxMessageLength = 16 * 1024 * 1024;

    /// <summary>The next message, or null when the body ended cleanly between messages.</summary>
    public static async ValueTask<EventStreamMessage?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var prelude = new byte[PreludeLength];
        var first = await stream.ReadAtLeastAsync(prelude, PreludeLength, throwOnEndOfStream: false, cancellationToken);
        if (first == 0)
        {
            return null;
        }

        if (first < PreludeLength)
        {
            throw new EndOfStreamException("the event stream ended inside a message prelude");
        }

        var total = BinaryPrimitives.ReadInt32BigEndian(prelude.AsSpan(0, 4));
        var headersLength = BinaryPrimitives.ReadInt32BigEndian(prelude.AsSpan(4, 4));
        var preludeCrc = BinaryPrimitives.ReadUInt32BigEndian(prelude.AsSpan(8, 4));
        if (Crc32.HashToUInt32(prelude.AsSpan(0, 8)) != preludeCrc)
        {
            throw new FormatException("an event-stream prelude failed its CRC check");
        }

        if (total < MinimumMessage || total > MaxMessageLength || headersLength < 0 || headersLength > total - MinimumMessage)
        {
            throw new FormatException($"an event-stream message has impossible lengths (total {total}, headers {headersLength})");
        }

        var message = new byte[total];
        prelude.CopyTo(message, 0);
        await stream.ReadExactlyAsync(message.AsMemory(PreludeLength), cancellationToken);
        var messageCrc = BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(total - 4));
        if (Crc32.HashToUInt32(message.AsSpan(0, total - 4)) != messageCrc)
        {
            throw new FormatException("an event-stream message failed its CRC check");
        }

        var headers = ReadHeaders(message.AsSpan(PreludeLength, headersLength));
        return new EventStreamMessage(headers, message.AsMemory(PreludeLength + headersLength, total - MinimumMessage - headersLength));
    }

    private static Dictionary<string, string> ReadHeaders(ReadOnlySpan<byte> span)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = 0;
        while (i < span.Length)
        {
            var nameLength = span[i++];
            Need(span, i, nameLength + 1);
            var name = Encoding.UTF8.GetString(span.Slice(i, nameLength));
            i += nameLength;
            var type = span[i++];
            switch (type)
            {
                case 0 or 1: // bool true / false: no value bytes
                    break;
                case 2:
                    i += Need(span, i, 1);
                    break;
                case 3:
                    i += Need(span, i, 2);
                    break;
                case 4:
                    i += Need(span, i, 4);
                    break;
                case 5 or 8: // long, timestamp
                    i += Need(span, i, 8);
                    break;
                case 9: // uuid
                    i += Need(span, i, 16);
                    break;
                case 6 or 7: // bytes, string: 2-byte length
                    Need(span, i, 2);
                    var length = BinaryPrimitives.ReadUInt16BigEndian(span.Slice(i, 2));
                    i += 2;
                    Need(span, i, length);
                    if (type == 7)
                    {
                        headers[name] = Encoding.UTF8.GetString(span.Slice(i, length));
                    }

                    i += length;
                    break;
                default:
                    throw new FormatException($"an event-stream header has unknown value type {type}");
            }
        }

        return headers;
    }

    private static int Need(ReadOnlySpan<byte> span, int at, int count) =>
        at + count <= span.Length ? count : throw new FormatException("an event-stream header runs past the headers");
}
