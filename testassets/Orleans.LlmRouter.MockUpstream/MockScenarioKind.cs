namespace Orleans.LlmRouter.MockUpstream;

/// <summary>What kind of answer a <see cref="MockScenario"/> gives.</summary>
public enum MockScenarioKind
{
    /// <summary>An error status with the API's error body (and its retry headers).</summary>
    Error,

    /// <summary>A broken upstream: bad JSON, a missing or mistyped field, a truncated, stalled or reset answer.</summary>
    Fault,

    /// <summary>A good answer of a particular shape (tool calls, cache usage, a mid-stream error event, …).</summary>
    Answer,
}
