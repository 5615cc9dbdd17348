using System.Buffers;
using System.IO.Compression;

namespace Orleans.LlmRouter.Core.Tokens;

/// <summary>
/// The prompt tokens a PDF document is charged before a call (reservations, context checks, <c>count_tokens</c>).
/// Providers read a PDF page by page, as its text and as an image of the page: Anthropic documents 1,500 to 3,000
/// tokens of text per page plus the page's image, at most about 1,600 tokens (1.15 megapixels at 750 pixels a token).
/// The rule takes the top of both, <see cref="PerPage"/> = 4,600 tokens a page, so it errs high; reservations are
/// settled with the provider's real counts.
/// </summary>
/// <remarks>
/// Pages are read from the PDF's own structure: the number of page objects (<c>/Type /Page</c>), or the page tree's
/// <c>/Count</c> if larger, else the page objects inside compressed object streams (<c>/Type /ObjStm</c>, inflated up
/// to <see cref="MaxInflatedBytes"/> in all, from at most <see cref="MaxObjectStreams"/> streams). A PDF whose pages
/// cannot be found that way (encrypted, or compressed otherwise) counts one page per <see cref="BytesPerPageFallback"/>
/// bytes. A document given by URL is not fetched by
/// the gateway and counts <see cref="UrlDocumentPages"/> pages. Work is linear in the document's size.
/// </remarks>
internal static class DocumentTokens
{
    /// <summary>Tokens charged per page: 3,000 of text and 1,600 for the page's image.</summary>
    public const int PerPage = 4_600;

    /// <summary>Pages assumed for a document the provider fetches from a URL (its size is unknown to the gateway).</summary>
    public const int UrlDocumentPages = 10;

    /// <summary>Bytes of PDF per page when its page objects cannot be found.</summary>
    public const int BytesPerPageFallback = 16 * 1024;

    /// <summary>Most bytes inflated from compressed object streams per document (a bound on work for a hostile PDF).</summary>
    public const int MaxInflatedBytes = 64 * 1024 * 1024;

    /// <summary>Most object streams looked into per document (each costs a decompressor, failing or not).</summary>
    public const int MaxObjectStreams = 2_000;

    /// <summary>Tokens of a document given as base64 data (its pages times <see cref="PerPage"/>).</summary>
    public static long ForData(string? base64) => (long)PagesOf(base64) * PerPage;

    /// <summary>Tokens of a document given by URL.</summary>
    public static long ForUrl() => (long)UrlDocumentPages * PerPage;

    /// <summary>The pages of a base64-encoded PDF, as described on the class; at least one.</summary>
    public static int PagesOf(string? base64)
    {
        if (string.IsNullOrEmpty(base64))
        {
            return 1;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((base64.Length * 3 / 4) + 3);
        try
        {
            if (!Convert.TryFromBase64String(base64, buffer, out var length))
            {
                return Math.Max(1, ((base64.Length * 3 / 4) + BytesPerPageFallback - 1) / BytesPerPageFallback);
            }

            var pdf = buffer.AsSpan(0, length);
            var pages = Pages(pdf);
            if (pages == 0)
            {
                pages = InflatedPages(buffer, length);
            }

            return pages > 0 ? pages : Math.Max(1, (length + BytesPerPageFallback - 1) / BytesPerPageFallback);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Page objects in <paramref name="pdf"/>, or the largest page-tree <c>/Count</c> if that is more.</summary>
    internal static int Pages(ReadOnlySpan<byte> pdf)
    {
        var objects = 0;
        var count = 0;
        var rest = pdf;
        while (true)
        {
            var at = rest.IndexOf("/Type"u8);
            if (at < 0)
            {
                break;
            }

            rest = rest[(at + 5)..];
            var value = SkipWhitespace(rest);
            if (value.StartsWith("/Pages"u8))
            {
                count = Math.Max(count, CountNear(value));
            }
            else if (value.StartsWith("/Page"u8) && (value.Length == 5 || !IsNameChar(value[5])))
            {
                objects++;
            }
        }

        return Math.Max(objects, count);
    }

    /// <summary>Pages found inside the FlateDecode object streams of the PDF (PDF 1.5 and later keep page objects there).</summary>
    private static int InflatedPages(byte[] buffer, int length)
    {
        var pages = 0;
        var budget = MaxInflatedBytes;
        var scratch = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var position = 0;
            var streams = 0;
            while (position < length && budget > 0 && streams++ < MaxObjectStreams)
            {
                var at = buffer.AsSpan(position, length - position).IndexOf("/ObjStm"u8);
                if (at < 0)
                {
                    break;
                }

                position += at + 7;
                var start = buffer.AsSpan(position, length - position).IndexOf("stream"u8);
                if (start < 0)
                {
                    break;
                }

                var data = position + start + 6;
                while (data < length && buffer[data] is (byte)'\r' or (byte)'\n')
                {
                    data++;
                }

                pages += Inflate(buffer, data, length - data, scratch, ref budget);
                position = data;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }

        return pages;
    }

    /// <summary>Inflates one zlib stream, counting page objects in the text it holds; stops at the budget or a bad stream.</summary>
    private static int Inflate(byte[] buffer, int offset, int count, byte[] scratch, ref int budget)
    {
        // The last Keep bytes of each block are counted with the next one, so a marker cut in two is still found once.
        const int Keep = 32;
        var pages = 0;
        var carry = 0;
        try
        {
            using var input = new MemoryStream(buffer, offset, count, writable: false);
            using var zlib = new ZLibStream(input, CompressionMode.Decompress);
            while (budget > 0)
            {
                var read = zlib.Read(scratch, carry, Math.Min(scratch.Length - carry, budget));
                if (read <= 0)
                {
                    break;
                }

                budget -= read;
                var block = scratch.AsSpan(0, carry + read);
                if (block.Length <= Keep)
                {
                    carry = block.Length;
                    continue;
                }

                pages += Pages(block, block.Length - Keep);
                block[^Keep..].CopyTo(scratch);
                carry = Keep;
            }
        }
        catch (InvalidDataException)
        {
            // Not a zlib stream (another filter, or damaged): what it holds past this point stays unknown.
        }

        return pages + Pages(scratch.AsSpan(0, carry), carry);
    }

    /// <summary>Page objects in <paramref name="block"/> whose <c>/Type</c> starts before <paramref name="limit"/>.</summary>
    private static int Pages(ReadOnlySpan<byte> block, int limit)
    {
        var found = 0;
        var from = 0;
        while (from < limit)
        {
            var at = block[from..].IndexOf("/Type"u8);
            if (at < 0 || from + at >= limit)
            {
                break;
            }

            from += at + 5;
            var value = SkipWhitespace(block[from..]);
            if (value.StartsWith("/Page"u8) && !value.StartsWith("/Pages"u8) && (value.Length == 5 || !IsNameChar(value[5])))
            {
                found++;
            }
        }

        return found;
    }

    /// <summary>The <c>/Count n</c> of a page-tree dictionary, looked for in the next few hundred bytes.</summary>
    private static int CountNear(ReadOnlySpan<byte> dictionary)
    {
        var window = dictionary[..Math.Min(dictionary.Length, 512)];
        var end = window.IndexOf(">>"u8);
        var at = window.IndexOf("/Count"u8);
        if (at < 0 || (end >= 0 && at > end))
        {
            // The key may come before /Type in the dictionary; that page tree is counted by its page objects.
            return 0;
        }

        var digits = SkipWhitespace(window[(at + 6)..]);
        var n = 0;
        foreach (var b in digits)
        {
            if (b is < (byte)'0' or > (byte)'9' || n > 100_000)
            {
                break;
            }

            n = (n * 10) + (b - '0');
        }

        return n;
    }

    private static ReadOnlySpan<byte> SkipWhitespace(ReadOnlySpan<byte> s)
    {
        var i = 0;
        while (i < s.Length && s[i] is (byte)' ' or (byte)'\r' or (byte)'\n' or (byte)'\t' or (byte)'\f' or 0)
        {
            i++;
        }

        return s[i..];
    }

    private static bool IsNameChar(byte b) => b is not ((byte)' ' or (byte)'\r' or (byte)'\n' or (byte)'\t' or (byte)'\f' or 0 or (byte)'/' or (byte)'>' or (byte)'<' or (byte)'[' or (byte)']' or (byte)'(' or (byte)')');
}
