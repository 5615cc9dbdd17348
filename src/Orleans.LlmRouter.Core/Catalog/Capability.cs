namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>What a model can do. YAML names are snake_case (<c>structured_output</c>).</summary>
public enum Capability
{
    /// <summary>Chat completions (<c>chat</c>).</summary>
    Chat,
    /// <summary>Accepts image parts in messages (<c>vision</c>).</summary>
    Vision,
    /// <summary>Honours a JSON or JSON-schema response format (<c>structured_output</c>).</summary>
    StructuredOutput,
    /// <summary>Tool (function) calling (<c>tools</c>).</summary>
    Tools,
    /// <summary>A context window for prompts above 128k estimated tokens, preferred after a context-length failure (<c>long_context</c>).</summary>
    LongContext,
    /// <summary>Embeddings (<c>embedding</c>).</summary>
    Embedding,
    /// <summary>Streamed answers (<c>streaming</c>).</summary>
    Streaming,

    /// <summary>
    /// Takes a reasoning effort or a thinking budget (OpenAI <c>reasoning_effort</c>, Anthropic <c>thinking</c>): the
    /// surfaces' <c>reasoning.effort</c> and <c>thinking</c> reach only such models, and are ignored with a warning header otherwise.
    /// </summary>
    Reasoning,

    /// <summary>
    /// Reads PDF documents itself (<c>documents</c>): Anthropic <c>document</c> blocks with base64 or URL sources, and,
    /// for OpenAI-type models, base64 PDFs as <c>file</c> parts. A request carrying a document part routes only to such
    /// models; plain-text documents are text and need nothing.
    /// </summary>
    Documents,
}
