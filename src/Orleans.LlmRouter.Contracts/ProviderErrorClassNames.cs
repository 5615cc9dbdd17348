namespace Orleans.LlmRouter.Contracts;

/// <summary>The snake_case names of <see cref="ProviderErrorClass"/> as the ledger, the metrics and the API show them (<c>rate_limited</c>).</summary>
public static class ProviderErrorClassNames
{
    private static readonly string[] Names = BuildNames();

    /// <summary>The snake_case name of <paramref name="errorClass"/>.</summary>
    /// <param name="errorClass">The error class.</param>
    /// <returns>Its name, e.g. <c>context_length_exceeded</c>.</returns>
    public static string Name(this ProviderErrorClass errorClass) =>
        (uint)errorClass < (uint)Names.Length ? Names[(int)errorClass] : errorClass.ToString();

    /// <summary>The error class whose snake_case name is <paramref name="name"/>.</summary>
    /// <param name="name">A name as <see cref="Name"/> writes it.</param>
    /// <param name="errorClass">The error class, when the name is known.</param>
    /// <returns>True when the name is known.</returns>
    public static bool TryParse(string? name, out ProviderErrorClass errorClass)
    {
        var i = name is null ? -1 : Array.IndexOf(Names, name);
        errorClass = i < 0 ? default : (ProviderErrorClass)i;
        return i >= 0;
    }

    private static string[] BuildNames()
    {
        var values = Enum.GetValues<ProviderErrorClass>();
        var names = new string[values.Length];
        foreach (var value in values)
        {
            names[(int)value] = Snake(value.ToString());
        }

        return names;
    }

    private static string Snake(string pascal)
    {
        var b = new System.Text.StringBuilder(pascal.Length + 8);
        for (var i = 0; i < pascal.Length; i++)
        {
            if (char.IsUpper(pascal[i]) && i > 0)
            {
                b.Append('_');
            }

            b.Append(char.ToLowerInvariant(pascal[i]));
        }

        return b.ToString();
    }
}
