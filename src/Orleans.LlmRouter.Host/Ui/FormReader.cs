using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// Reads a console form's fields: an empty field is null, a field that does not parse adds its message to
/// <see cref="Errors"/> and reads as null. One reader for the tenant form and the level forms.
/// </summary>
internal sealed class FormReader(IFormCollection form)
{
    public List<string> Errors { get; } = [];

    /// <summary>The trimmed text, or null when empty.</summary>
    public string? Text(string name) => form[name].ToString().Trim() is { Length: > 0 } v ? v : null;

    /// <summary>A non-negative decimal.</summary>
    public decimal? Decimal(string name)
    {
        if (Text(name) is not { } v)
        {
            return null;
        }

        if (decimal.TryParse(v, NumberStyles.Number, CultureInfo.InvariantCulture, out var d) && d >= 0)
        {
            return d;
        }

        Errors.Add($"{name} must be a non-negative number.");
        return null;
    }

    /// <summary>A non-negative whole number up to <paramref name="max"/>.</summary>
    public long? Whole(string name, long max = long.MaxValue)
    {
        if (Decimal(name) is not { } d)
        {
            return null;
        }

        if (d == decimal.Truncate(d) && d <= max)
        {
            return (long)d;
        }

        Errors.Add($"{name} must be a whole number.");
        return null;
    }

    /// <summary>A comma-separated list (empty entries dropped).</summary>
    public List<string> List(string name) => form[name].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}
