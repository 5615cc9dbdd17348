using System.IO.Hashing;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.ML.Tokenizers;

namespace Orleans.LlmRouter.Core.Tokens;

/// <summary>One prompt message reduced to what counting needs.</summary>
internal readonly record struct PromptPart(string? Text, int Images);
