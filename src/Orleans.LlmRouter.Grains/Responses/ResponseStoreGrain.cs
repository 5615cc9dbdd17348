using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Hosting;

namespace Orleans.LlmRouter.Grains.Responses;

/// <summary>
/// Keeps one stored response (see <see cref="IResponseStoreGrain"/>) in grain storage. Writes happen once per stored
/// response (and on delete), never per read; an expired response is cleared when next read, by the router clock.
/// </summary>
internal sealed class ResponseStoreGrain(
    [PersistentState("response-store")] IPersistentState<ResponseStoreState> state,
    RouterClock clock) : Grain, IResponseStoreGrain
{
    public async Task PutAsync(StoredResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        state.State.Response = response;
        await state.WriteStateAsync();
    }

    public async Task<StoredResponse?> GetAsync()
    {
        if (state.State.Response is not { } response)
        {
            return null;
        }

        if (response.ExpiresAt > clock.UtcNow)
        {
            return response;
        }

        await ClearAsync();
        return null;
    }

    public async Task<bool> DeleteAsync()
    {
        if (state.State.Response is not { } response)
        {
            return false;
        }

        await ClearAsync();
        return response.ExpiresAt > clock.UtcNow;
    }

    private async Task ClearAsync()
    {
        state.State.Response = null;
        await state.ClearStateAsync();
        DeactivateOnIdle();
    }
}
