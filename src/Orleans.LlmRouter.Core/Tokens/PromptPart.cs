namespace Orleans.LlmRouter.Core.Tokens;

/// <summary>
/// One prompt message reduced to what counting needs: its text, its images (each <see cref="TokenEstimator.PerImage"/>)
/// and the tokens of its documents (<see cref="DocumentTokens"/>), the same for every tokenizer family.
/// </summary>
internal readonly record struct PromptPart(string? Text, int Images, long DocumentTokens = 0);
