namespace Orleans.LlmRouter.Deploy.Tests.Helm;

/// <summary>A chart on disk rendered like <c>helm template</c> (with <see cref="ChartTemplate"/>'s subset).</summary>
internal sealed class Chart
{
    private readonly string _directory;
    private readonly Dictionary<string, object?> _chart;

    public Chart(string directory)
    {
        _directory = directory;
        var meta = ChartValues.Parse(File.ReadAllText(Path.Combine(directory, "Chart.yaml")));
        _chart = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["Name"] = meta["name"],
            ["Version"] = meta["version"],
            ["AppVersion"] = meta["appVersion"],
        };
    }

    /// <summary>The chart's default values (a fresh copy to change).</summary>
    public Dictionary<string, object?> DefaultValues() => ChartValues.Parse(File.ReadAllText(Path.Combine(_directory, "values.yaml")));

    /// <summary>Renders every template; the key is the template's file name, templates that render nothing are left out.</summary>
    public SortedDictionary<string, string> Render(string releaseName, string releaseNamespace, Dictionary<string, object?>? values = null)
    {
        var root = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["Values"] = values ?? DefaultValues(),
            ["Release"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["Name"] = releaseName, ["Namespace"] = releaseNamespace, ["Service"] = "Helm" },
            ["Chart"] = _chart,
        };
        var rendered = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(_directory, "templates"), "*.yaml").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            string text;
            try
            {
                text = ChartTemplate.Render(File.ReadAllText(file), root);
            }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException)
            {
                throw new InvalidOperationException($"templates/{name}: {ex.Message}", ex);
            }

            if (text.Split('\n').Any(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#') && l.Trim() != "---"))
            {
                rendered[name] = text.Trim('\n') + "\n";
            }
        }

        return rendered;
    }
}
