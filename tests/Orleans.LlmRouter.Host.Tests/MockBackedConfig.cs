using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Orleans.LlmRouter.Host.Tests;

/// <summary>
/// The shipped configuration plus a provider of type <c>openai</c> pointed at the wire-faithful mock upstream on
/// loopback (models <c>mock-gpt</c>, <c>mock-embed</c>, <c>mock-reasoner</c> (reasoning); action <c>mock_chain</c> = mock-gpt then sim-small, <c>mock_fail_chain</c> = mock-gpt then mock-reasoner (one provider that never opens its breaker); providers <c>mockrl</c> (model <c>mock-rl</c>, for the log test) and <c>mockpause</c> (model <c>mock-pause</c>, action <c>mock_pause_chain</c>) for 429s, each its own since a 429 pauses its provider; <c>mockrlchat</c>/<c>mockrlembed</c> (models <c>mock-rl-chat</c>, <c>mock-rl-embed</c>) for the error-mapping test, <c>mockrlmsg</c> (model <c>mock-rl-msg</c>) for the Messages surface's; <c>mockcap</c> (model <c>mock-cap</c>, <c>max_concurrency: 1</c>) for capacity refusals), so gateway
/// tests cross the real HTTP adapter. Its key comes from an environment variable, as in production.
/// </summary>
public static class MockBackedConfig
{
    public const string KeyVariable = "LLMROUTER_TEST_MOCK_KEY";

    /// <summary>The mock provider's API key: must never show in a log line, an error or a response.</summary>
    public const string Key = "sk-mock-UPSTREAM-secret-4f9c2a7b";

    public static string Create(Uri mock)
    {
        ArgumentNullException.ThrowIfNull(mock);
        Environment.SetEnvironmentVariable(KeyVariable, Key);
        var dir = Directory.CreateTempSubdirectory("llmrouter-config-").FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "shipped-config"), "*.yaml"))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }

        File.WriteAllText(Path.Combine(dir, "mock.yaml"), $$"""
            providers:
              - id: mock
                type: openai
                base_url: {{mock.ToString().TrimEnd('/')}}
                api_key_env: {{KeyVariable}}
                timeout_seconds: 10
                priority: 5000
                retry: { max_attempts: 2, base_delay_ms: 1, max_delay_ms: 20 }
                circuit_breaker: { failure_ratio: 0.99, minimum_calls: 100000, window_seconds: 60, break_seconds: 1 }
              # A second provider on the same mock, for 429s: its Retry-After pauses the whole provider (by design).
              - id: mockrl
                type: openai
                base_url: {{mock.ToString().TrimEnd('/')}}
                api_key_env: {{KeyVariable}}
                timeout_seconds: 10
                priority: 5001
                retry: { max_attempts: 2, base_delay_ms: 1, max_delay_ms: 20 }
              - id: mockpause
                type: openai
                base_url: {{mock.ToString().TrimEnd('/')}}
                api_key_env: {{KeyVariable}}
                timeout_seconds: 10
                priority: 5004
                retry: { max_attempts: 2, base_delay_ms: 1, max_delay_ms: 20 }
              # Two more for 429s, one per surface (chat, embeddings): the error-mapping test rate-limits each alone.
              - id: mockrlchat
                type: openai
                base_url: {{mock.ToString().TrimEnd('/')}}
                api_key_env: {{KeyVariable}}
                timeout_seconds: 10
                priority: 5006
                retry: { max_attempts: 1, base_delay_ms: 1, max_delay_ms: 20 }
              - id: mockrlembed
                type: openai
                base_url: {{mock.ToString().TrimEnd('/')}}
                api_key_env: {{KeyVariable}}
                timeout_seconds: 10
                priority: 5007
                retry: { max_attempts: 1, base_delay_ms: 1, max_delay_ms: 20 }
              # One more for 429s on the Messages surface (its 529 test rate-limits it alone).
              - id: mockrlmsg
                type: openai
                base_url: {{mock.ToString().TrimEnd('/')}}
                api_key_env: {{KeyVariable}}
                timeout_seconds: 10
                priority: 5008
                retry: { max_attempts: 1, base_delay_ms: 1, max_delay_ms: 20 }
              # max_concurrency 1, for the capacity-refusal test (one slow call holds the slot).
              - id: mockcap
                type: openai
                base_url: {{mock.ToString().TrimEnd('/')}}
                api_key_env: {{KeyVariable}}
                timeout_seconds: 30
                priority: 5009
                retry: { max_attempts: 1, base_delay_ms: 1, max_delay_ms: 20 }
                limits: { max_concurrency: 1 }
              - id: mockollama
                type: ollama
                base_url: {{mock.ToString().TrimEnd('/')}}
                timeout_seconds: 10
                priority: 5005
              - id: mockant
                type: anthropic
                base_url: {{mock.ToString().TrimEnd('/')}}
                api_key_env: {{KeyVariable}}
                timeout_seconds: 10
                priority: 5002
              - id: mockgem
                type: gemini
                base_url: {{mock.ToString().TrimEnd('/')}}
                api_key_env: {{KeyVariable}}
                timeout_seconds: 10
                priority: 5003
            models:
              - { name: mock-llama, provider: mockollama, provider_model: llama-mock, context_window: 32000, max_output_tokens: 4096,
                  capabilities: [chat, structured_output, tools, streaming], pricing: { input: 0, output: 0 } }
              - { name: mock-pause, provider: mockpause, provider_model: mock-small, context_window: 128000, max_output_tokens: 4096,
                  capabilities: [chat, streaming], pricing: { input: 0.15, output: 0.60 } }
              - { name: mock-gemini, provider: mockgem, provider_model: gemini-mock-flash, context_window: 1000000, max_output_tokens: 8192,
                  capabilities: [chat, structured_output, tools, streaming], pricing: { input: 0.30, output: 2.50, cached_input: 0.03 } }
              - { name: mock-claude, provider: mockant, provider_model: claude-mock-small, context_window: 200000, max_output_tokens: 8192,
                  capabilities: [chat, structured_output, tools, streaming, vision, documents, reasoning], pricing: { input: 1.00, output: 5.00, cached_input: 0.10 } }
              - { name: mock-reasoner, provider: mock, provider_model: mock-small, context_window: 128000, max_output_tokens: 4096,
                  capabilities: [chat, streaming, reasoning], pricing: { input: 0.15, output: 0.60 } }
              - { name: mock-rl, provider: mockrl, provider_model: mock-small, context_window: 128000, max_output_tokens: 4096,
                  capabilities: [chat, streaming], pricing: { input: 0.15, output: 0.60 } }
              - { name: mock-gpt, provider: mock, provider_model: mock-small, context_window: 128000, max_output_tokens: 4096,
                  capabilities: [chat, structured_output, tools, streaming], pricing: { input: 0.15, output: 0.60 } }
              - { name: mock-rl-chat, provider: mockrlchat, provider_model: mock-small, context_window: 128000, max_output_tokens: 4096,
                  capabilities: [chat, streaming], pricing: { input: 0.15, output: 0.60 } }
              - { name: mock-rl-embed, provider: mockrlembed, provider_model: mock-embed, context_window: 8192, max_output_tokens: 1,
                  capabilities: [embedding], pricing: { input: 0.02, output: 0 } }
              - { name: mock-rl-msg, provider: mockrlmsg, provider_model: mock-small, context_window: 128000, max_output_tokens: 4096,
                  capabilities: [chat, streaming], pricing: { input: 0.15, output: 0.60 } }
              - { name: mock-cap, provider: mockcap, provider_model: mock-small, context_window: 128000, max_output_tokens: 4096,
                  capabilities: [chat, streaming], pricing: { input: 0.15, output: 0.60 } }
              - { name: mock-embed, provider: mock, provider_model: mock-embed, context_window: 8192, max_output_tokens: 1,
                  capabilities: [embedding], pricing: { input: 0.02, output: 0 } }
            actions:
              - name: mock_chain
                requires: [chat]
                strategies:
                  default: [mock-gpt, sim-small]
              # Both models on the provider whose breaker never opens: every model of it can fail without a side effect.
              - name: mock_fail_chain
                requires: [chat]
                strategies:
                  default: [mock-gpt, mock-reasoner]
              - name: mock_pause_chain
                requires: [chat]
                strategies:
                  default: [mock-pause, sim-small]
            """);
        return dir;
    }
}

/// <summary>
/// Keeps every log line (message, structured values, exception and the scopes it was written in: the logger
/// factory's trace and span ids, the request id) a gateway writes, for secret-leak and correlation checks.
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> _lines = new();
    private IExternalScopeProvider? _scopes;

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Capture(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Capture(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull =>
            owner._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            var structured = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(';', pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
            var scopes = new System.Text.StringBuilder();
            owner._scopes?.ForEachScope(
                static (scope, sb) =>
                {
                    if (scope is IEnumerable<KeyValuePair<string, object?>> values)
                    {
                        foreach (var v in values)
                        {
                            sb.Append(v.Key).Append('=').Append(v.Value).Append(';');
                        }
                    }
                    else
                    {
                        sb.Append(scope).Append(';');
                    }
                },
                scopes);
            owner._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} [{structured}] {{{scopes}}} {exception}");
        }
    }
}
