namespace Orleans.LlmRouter.Core.Tokens;

/// <summary>One prompt message reduced to what counting needs.</summary>
internal readonly record struct PromptPart(string? Text, int Images);
