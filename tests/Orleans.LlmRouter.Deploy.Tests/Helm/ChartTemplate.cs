using System.Globalization;
using System.Text;

namespace Orleans.LlmRouter.Deploy.Tests.Helm;

/// <summary>
/// Renders the subset of Helm's Go templates our chart is written in, because no Helm binary can be installed from the
/// package registries CI uses (Debian, npm, NuGet). The subset, kept deliberately small so the chart stays plain Helm:
/// text with <c>{{ }}</c> actions and the <c>{{-</c>/<c>-}}</c> whitespace trims; <c>if</c>/<c>else</c>/<c>end</c>;
/// <c>range</c> over a list (dot is the item); pipelines of a term (<c>.Values.a.b</c>, <c>.field</c>, <c>$.Values.x</c>,
/// a string or integer literal) or a function call, through <c>quote</c>, <c>default</c>, <c>toYaml</c>, <c>nindent</c>,
/// <c>indent</c>, <c>not</c> and <c>add</c>. Anything else, and printing a value that does not exist, is an error
/// (Helm would print <c>&lt;no value&gt;</c>): a typo in a template fails the test instead of rendering garbage.
/// </summary>
internal static class ChartTemplate
{
    /// <summary>Renders <paramref name="template"/> with <paramref name="root"/> as <c>.</c> and <c>$</c>.</summary>
    public static string Render(string template, Dictionary<string, object?> root)
    {
        var nodes = Parse(Tokenize(template));
        var output = new StringBuilder();
        Execute(nodes, root, root, output);
        return output.ToString();
    }

    private abstract record Token;

    private sealed record TextToken(string Text) : Token;

    private sealed record ActionToken(string Action) : Token;

    private static List<Token> Tokenize(string template)
    {
        var tokens = new List<Token>();
        var position = 0;
        var trimNext = false;
        while (position < template.Length)
        {
            var open = template.IndexOf("{{", position, StringComparison.Ordinal);
            var text = open < 0 ? template[position..] : template[position..open];
            if (trimNext)
            {
                text = text.TrimStart();
            }

            if (open < 0)
            {
                tokens.Add(new TextToken(text));
                break;
            }

            var close = template.IndexOf("}}", open, StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"unclosed action at offset {open}");
            }

            var action = template[(open + 2)..close];
            if (action.StartsWith("- ", StringComparison.Ordinal) || action.StartsWith("-\n", StringComparison.Ordinal))
            {
                text = text.TrimEnd();
                action = action[1..];
            }

            trimNext = action.EndsWith(" -", StringComparison.Ordinal) || action.EndsWith("\n-", StringComparison.Ordinal);
            if (trimNext)
            {
                action = action[..^1];
            }

            tokens.Add(new TextToken(text));
            action = action.Trim();
            if (!(action.StartsWith("/*", StringComparison.Ordinal) && action.EndsWith("*/", StringComparison.Ordinal)))
            {
                tokens.Add(new ActionToken(action));
            }

            position = close + 2;
        }

        return tokens;
    }

    private abstract record Node;

    private sealed record Text(string Value) : Node;

    private sealed record Output(string Pipeline) : Node;

    private sealed record If(string Condition, List<Node> Then, List<Node> Else) : Node;

    private sealed record Range(string Pipeline, List<Node> Body) : Node;

    private static List<Node> Parse(List<Token> tokens)
    {
        var position = 0;
        var nodes = ParseBlock(tokens, ref position, out var end);
        if (end is not null)
        {
            throw new FormatException($"unexpected {{{{ {end} }}}}");
        }

        return nodes;
    }

    private static List<Node> ParseBlock(List<Token> tokens, ref int position, out string? terminator)
    {
        var nodes = new List<Node>();
        while (position < tokens.Count)
        {
            var token = tokens[position++];
            if (token is TextToken text)
            {
                nodes.Add(new Text(text.Text));
                continue;
            }

            var action = ((ActionToken)token).Action;
            if (action is "end" or "else")
            {
                terminator = action;
                return nodes;
            }

            if (action.StartsWith("if ", StringComparison.Ordinal))
            {
                var then = ParseBlock(tokens, ref position, out var end);
                var otherwise = new List<Node>();
                if (end == "else")
                {
                    otherwise = ParseBlock(tokens, ref position, out end);
                }

                if (end != "end")
                {
                    throw new FormatException($"{{{{ {action} }}}} without end");
                }

                nodes.Add(new If(action[3..].Trim(), then, otherwise));
            }
            else if (action.StartsWith("range ", StringComparison.Ordinal))
            {
                var body = ParseBlock(tokens, ref position, out var end);
                if (end != "end")
                {
                    throw new FormatException($"{{{{ {action} }}}} without end");
                }

                nodes.Add(new Range(action[6..].Trim(), body));
            }
            else if (action.StartsWith("define ", StringComparison.Ordinal) || action.StartsWith("with ", StringComparison.Ordinal) || action.StartsWith("template ", StringComparison.Ordinal) || action.Contains(":=", StringComparison.Ordinal))
            {
                throw new FormatException($"{{{{ {action} }}}} is outside the subset the chart is written in");
            }
            else
            {
                nodes.Add(new Output(action));
            }
        }

        terminator = null;
        return nodes;
    }

    private static void Execute(List<Node> nodes, object? dot, Dictionary<string, object?> root, StringBuilder output)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case Text text:
                    output.Append(text.Value);
                    break;
                case Output print:
                    output.Append(ChartValues.Format(Evaluate(print.Pipeline, dot, root)));
                    break;
                case If branch:
                    Execute(Truthy(Evaluate(branch.Condition, dot, root)) ? branch.Then : branch.Else, dot, root, output);
                    break;
                case Range loop:
                    if (Evaluate(loop.Pipeline, dot, root) is List<object?> items)
                    {
                        foreach (var item in items)
                        {
                            Execute(loop.Body, item, root, output);
                        }
                    }
                    else
                    {
                        throw new FormatException($"range over something that is not a list: {loop.Pipeline}");
                    }

                    break;
            }
        }
    }

    /// <summary>Go's truth: false, 0, nil and empty strings, lists and maps are false.</summary>
    public static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        long n => n != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        Dictionary<string, object?> m => m.Count > 0,
        _ => true,
    };

    private static object? Evaluate(string pipeline, object? dot, Dictionary<string, object?> root)
    {
        object? value = null;
        var first = true;
        foreach (var command in SplitOutsideQuotes(pipeline, '|'))
        {
            var words = SplitOutsideQuotes(command.Trim(), ' ').Where(w => w.Length > 0).ToList();
            if (words.Count == 0)
            {
                throw new FormatException($"empty command in '{pipeline}'");
            }

            var args = words.Skip(1).Select(w => Term(w, dot, root)).ToList();
            if (!first)
            {
                args.Add(value);
            }

            value = IsFunction(words[0]) ? Call(words[0], args, pipeline) : first && words.Count == 1 ? Term(words[0], dot, root) : throw new FormatException($"'{command}' in '{pipeline}' is not a function call");
            first = false;
        }

        return value;
    }

    private static bool IsFunction(string word) => word.Length > 0 && char.IsLetter(word[0]) && word is not ("true" or "false");

    private static object? Call(string function, List<object?> args, string pipeline)
    {
        object? Arg(int i) => i < args.Count ? args[i] : throw new FormatException($"{function} needs more arguments in '{pipeline}'");
        return function switch
        {
            "quote" when args.Count == 1 => ChartValues.Quote(args[0] is null ? string.Empty : ChartValues.Format(args[0])),
            "default" when args.Count == 2 => Truthy(args[1]) ? args[1] : args[0],
            "not" when args.Count == 1 => !Truthy(args[0]),
            "toYaml" when args.Count == 1 => ChartValues.ToYaml(args[0]),
            "nindent" when args.Count == 2 => "\n" + Indent((long)Arg(0)!, (string)Arg(1)!),
            "indent" when args.Count == 2 => Indent((long)Arg(0)!, (string)Arg(1)!),
            "add" when args.Count >= 2 => args.Sum(a => a is long n ? n : throw new FormatException($"add of a non-integer in '{pipeline}'")),
            _ => throw new FormatException($"function {function}/{args.Count} is outside the subset the chart is written in ('{pipeline}')"),
        };
    }

    private static string Indent(long width, string text)
    {
        var pad = new string(' ', (int)width);
        return pad + text.Replace("\n", "\n" + pad, StringComparison.Ordinal);
    }

    private static object? Term(string word, object? dot, Dictionary<string, object?> root)
    {
        if (word.StartsWith('"'))
        {
            return word.Trim('"');
        }

        if (long.TryParse(word, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        if (word is "true" or "false")
        {
            return word == "true";
        }

        if (word == ".")
        {
            return dot;
        }

        object? current;
        string path;
        if (word.StartsWith("$.", StringComparison.Ordinal))
        {
            current = root;
            path = word[2..];
        }
        else if (word.StartsWith('.'))
        {
            current = dot;
            path = word[1..];
        }
        else
        {
            throw new FormatException($"'{word}' is not a term of the subset");
        }

        foreach (var field in path.Split('.'))
        {
            current = current is Dictionary<string, object?> map && map.TryGetValue(field, out var next) ? next : null;
        }

        return current;
    }

    private static List<string> SplitOutsideQuotes(string text, char separator)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        foreach (var c in text)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }

            if (c == separator && !quoted)
            {
                parts.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        parts.Add(current.ToString());
        return parts;
    }
}
