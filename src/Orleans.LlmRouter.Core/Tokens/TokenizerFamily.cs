namespace Orleans.LlmRouter.Core.Tokens;

/// <summary>How a model's prompt tokens are counted before a call.</summary>
public enum TokenizerFamily
{
    /// <summary>About four characters per token (<see cref="TokenEstimator"/>): Gemini, Llama/Ollama, DeepSeek, unknown models.</summary>
    Heuristic,

    /// <summary>OpenAI's o200k_base encoding (gpt-4o, gpt-4.1, gpt-5, o-series), counted exactly.</summary>
    O200k,

    /// <summary>OpenAI's cl100k_base encoding (gpt-4, gpt-3.5, text-embedding-3/ada), counted exactly.</summary>
    Cl100k,

    /// <summary>Claude: about 3.5 characters per token (its tokenizer is not public; denser than four per token, so we err high).</summary>
    Claude,
}
