using System.Text;
using Amazon.Runtime.EventStreams;
using Orleans.LlmRouter.Providers.Bedrock;

namespace Orleans.LlmRouter.Providers.Tests.Bedrock;

/// <summary>The event-stream framing reader against frames encoded by the AWS SDK's own encoder.</summary>
public sealed class EventStreamReaderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] Frame(string eventType, string json)
    {
        var type = new EventStreamHeader(":event-type");
        type.SetString(eventType);
        var message = new EventStreamHeader(":message-type");
        message.SetString("event");
        var flag = new EventStreamHeader("flag");
        flag.SetBool(true);
        var number = new EventStreamHeader("n");
        number.SetInt32(7);
        return new Amazon.Runtime.EventStreams.EventStreamMessage([type, flag, number, message], Encoding.UTF8.GetBytes(json)).ToByteArray();
    }

    [Fact]
    public async Task Reads_consecutive_frames_with_their_string_headers_and_payloads_then_a_clean_end()
    {
        using var stream = new MemoryStream([.. Frame("messageStart", "{\"role\":\"assistant\"}"), .. Frame("messageStop", "{\"stopReason\":\"end_turn\"}")]);
        var first = await EventStreamReader.ReadAsync(stream, Ct);
        Assert.Equal(("event", "messageStart"), (first!.MessageType, first.Name));
        Assert.Equal("{\"role\":\"assistant\"}", Encoding.UTF8.GetString(first.Payload.Span));
        Assert.False(first.Headers.ContainsKey("flag")); // not a string header: skipped, but parsed past
        var second = await EventStreamReader.ReadAsync(stream, Ct);
        Assert.Equal("messageStop", second!.Name);
        Assert.Null(await EventStreamReader.ReadAsync(stream, Ct));
    }

    [Theory]
    [InlineData(9)]  // in the prelude CRC
    [InlineData(20)] // in the headers
    [InlineData(-6)] // in the payload
    [InlineData(-1)] // in the message CRC
    public async Task A_flipped_byte_anywhere_fails_a_crc_check(int at)
    {
        var frame = Frame("contentBlockDelta", "{\"delta\":{\"text\":\"hi\"}}");
        frame[at < 0 ? frame.Length + at : at] ^= 0x40;
        using var stream = new MemoryStream(frame);
        var ex = await Assert.ThrowsAsync<FormatException>(async () => await EventStreamReader.ReadAsync(stream, Ct));
        Assert.Contains("CRC", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_ends_inside_a_frame_is_a_cut_stream()
    {
        var frame = Frame("contentBlockDelta", "{\"delta\":{\"text\":\"hi\"}}");
        using var inPrelude = new MemoryStream(frame[..5]);
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await EventStreamReader.ReadAsync(inPrelude, Ct));
        using var inBody = new MemoryStream(frame[..^3]);
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await EventStreamReader.ReadAsync(inBody, Ct));
    }
}
