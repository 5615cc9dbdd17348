namespace Orleans.LlmRouter.MockUpstream;

/// <summary>One scenario of the mock: its name, what it does, and the APIs that serve it.</summary>
/// <param name="Name">The name a test puts in the <c>x-mock-scenario</c> header or a <c>[mock:NAME]</c> marker.</param>
/// <param name="Kind">An error answer, a broken upstream, or a variant of a good answer.</param>
/// <param name="Meaning">What each API answers (in its own wire format).</param>
/// <param name="Apis">The APIs that serve it (<see cref="MockScenarios.OpenAi"/>, …).</param>
public sealed record MockScenario(string Name, MockScenarioKind Kind, string Meaning, IReadOnlyList<string> Apis);
