using System.IO.Compression;
using System.Text;
using Orleans.LlmRouter.Core.Tokens;

namespace Orleans.LlmRouter.Core.Tests.Tokens;

/// <summary>The prompt charge of a PDF: its pages, read from the PDF's structure, times 4,600 tokens.</summary>
public sealed class DocumentTokensTests
{
    private static string Base64(string ascii) => Convert.ToBase64String(Encoding.ASCII.GetBytes(ascii));

    private static string Pages(int n) =>
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count " + n + " >> endobj\n"
        + string.Concat(Enumerable.Range(0, n).Select(i => $"{i + 3} 0 obj << /Type /Page /Parent 2 0 R >> endobj\n"))
        + "%%EOF\n";

    [Fact]
    public void Pages_are_counted_from_the_page_objects_and_the_page_tree()
    {
        Assert.Equal(3, DocumentTokens.PagesOf(Base64(Pages(3))));
        Assert.Equal(3 * DocumentTokens.PerPage, DocumentTokens.ForData(Base64(Pages(3))));

        // /Type/Page without spaces counts; /Type /Pages is the tree, not a page; a larger /Count wins.
        Assert.Equal(2, DocumentTokens.PagesOf(Base64("%PDF-1.7 <</Type/Page>> <</Type/Page/Parent 1 0 R>> <</Type /Pages /Count 1>>")));
        Assert.Equal(12, DocumentTokens.PagesOf(Base64("%PDF-1.7 <</Type/Page>> <</Type /Pages /Kids [] /Count 12>>")));
    }

    [Theory]
    [InlineData(40)]
    [InlineData(3_000)] // over 64 KiB inflated: markers cut between two blocks are counted once
    public void Pages_inside_compressed_object_streams_are_counted(int count)
    {
        // PDF 1.5 writers keep page objects in FlateDecode object streams: nothing to see without inflating them.
        var objects = string.Concat(Enumerable.Range(0, count).Select(i => $"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {i} 0 R >>\n"));
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(Encoding.ASCII.GetBytes(objects));
        }

        var pdf = new MemoryStream();
        pdf.Write(Encoding.ASCII.GetBytes($"%PDF-1.5\n5 0 obj << /Type /ObjStm /N {count} /First 10 /Filter /FlateDecode /Length {compressed.Length} >>\nstream\r\n"));
        pdf.Write(compressed.ToArray());
        pdf.Write(Encoding.ASCII.GetBytes("\r\nendstream endobj\n%%EOF\n"));
        Assert.Equal(count, DocumentTokens.PagesOf(Convert.ToBase64String(pdf.ToArray())));
    }

    [Fact]
    public void A_pdf_whose_pages_cannot_be_found_counts_by_size_and_a_url_document_ten_pages()
    {
        var opaque = new byte[(3 * DocumentTokens.BytesPerPageFallback) + 1];
        "%PDF-1.7"u8.CopyTo(opaque);
        Assert.Equal(4, DocumentTokens.PagesOf(Convert.ToBase64String(opaque)));
        Assert.Equal(1, DocumentTokens.PagesOf(Base64("%PDF-1.7")));
        Assert.Equal(10L * 4_600, DocumentTokens.ForUrl());
    }

    [Fact]
    public void A_hostile_pdf_of_broken_object_streams_is_bounded()
    {
        // Thousands of object streams that are not zlib: each is tried at most once, and only the first MaxObjectStreams.
        var hostile = "%PDF-1.5\n" + string.Concat(Enumerable.Repeat("/Type /ObjStm stream\nnot zlib at all\n", 50_000));
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var pages = DocumentTokens.PagesOf(Base64(hostile));
        Assert.True(pages >= 1);
        Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Document_tokens_count_in_every_family()
    {
        using var counter = new PromptTokenCounter();
        PromptPart[] plain = [new("read this", 0)];
        PromptPart[] withPdf = [new("read this", 0, 2 * DocumentTokens.PerPage)];
        foreach (var family in Enum.GetValues<TokenizerFamily>())
        {
            Assert.Equal(counter.Count(family, plain) + (2 * DocumentTokens.PerPage), counter.Count(family, withPdf));
        }
    }
}
