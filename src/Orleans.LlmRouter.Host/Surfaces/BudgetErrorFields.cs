using System.Text.Json;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.Surfaces;

/// <summary>
/// The fields of a budget rejection every surface puts in its error object (<c>code</c>, <c>level</c> (<c>tenant</c>,
/// <c>project</c>, <c>key</c>, <c>end_user</c>), <c>level_id</c>, <c>window</c>, <c>unit</c>,
/// <c>used</c>, <c>in_flight</c>, <c>limit</c>, <c>requested</c>), written once for all of them.
/// </summary>
internal static class BudgetErrorFields
{
    public static void Write(Utf8JsonWriter w, BudgetExceededException ex)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(ex);
        w.WriteString("code", "budget_exceeded");
        w.WriteString("level", ex.Level);
        w.WriteString("level_id", ex.LevelId);
        w.WriteString("window", ex.Window);
        switch (ex)
        {
            case TokenBudgetExceededException t:
                w.WriteString("unit", "tokens");
                w.WriteNumber("used", t.Used);
                w.WriteNumber("in_flight", t.InFlight);
                w.WriteNumber("limit", t.Limit);
                w.WriteNumber("requested", t.Requested);
                break;
            case CostBudgetExceededException c:
                w.WriteString("unit", "usd");
                w.WriteNumber("used", c.UsedUsd);
                w.WriteNumber("in_flight", c.InFlightUsd);
                w.WriteNumber("limit", c.LimitUsd);
                w.WriteNumber("requested", c.RequestedUsd);
                break;
        }
    }
}
