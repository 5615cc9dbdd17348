using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Routing;

namespace Orleans.LlmRouter.Grains.Caching;

/// <summary>
/// The meeting point of identical requests (<see cref="IResponseCacheGrain"/>). Reentrant: callers wait on a flight
/// together. The upstream call of a flight runs through the silo's <see cref="RouterEngine"/> on the thread pool, under
/// the context of the request that started it (its budgets are reserved and its ledger row is the flight's
/// <see cref="CacheStatus.Miss"/>); the others are billed by their own silos as <see cref="CacheStatus.Coalesced"/>.
/// A flight whose waiters all left is cancelled; a flight whose silo dies fails its waiters' calls, and their retry
/// reaches a new activation.
/// </summary>
[Reentrant]
internal sealed partial class ResponseCacheGrain(RouterEngine engine, ResponseCacheStorage storage, ILogger<ResponseCacheGrain> logger) : Grain, IResponseCacheGrain
{
    /// <summary>How long a read waits for the next item before it returns an empty batch (the reader asks again).</summary>
    internal static readonly TimeSpan ReadWait = TimeSpan.FromSeconds(10);

    private readonly Dictionary<long, StreamFlight> _streams = [];
    private CompleteFlight? _complete;
    private StreamFlight? _streaming;
    private long _nextFlight;

    public async Task<CacheResult> CompleteAsync(ChatRequest request, RouterContext context, CacheArgs args, CancellationToken cancellationToken = default)
    {
        if (_complete is null && args.Lookup && await storage.ReadAsync(args) is { Completion: { } stored })
        {
            return new CacheResult(CacheStatus.Hit, stored);
        }

        var flight = _complete;
        var leader = flight is null;
        if (flight is null)
        {
            flight = _complete = new CompleteFlight();
            flight.Run = RunAsync(flight, request, context, args);
        }

        flight.Waiters++;
        try
        {
            var completion = await flight.Result.Task.WaitAsync(cancellationToken);
            return new CacheResult(leader ? CacheStatus.Miss : CacheStatus.Coalesced, completion);
        }
        catch (Exception ex) when (!leader && ex is BudgetExceededException or TenantRateLimitedException or InvalidRoutingException)
        {
            return new CacheResult(CacheStatus.Bypass, null); // refused for the request that made the call: this one tries on its own
        }
        finally
        {
            if (--flight.Waiters == 0 && !flight.Result.Task.IsCompleted)
            {
                // Nobody waits for the answer any more: the call is abandoned, and the next request starts its own.
                if (ReferenceEquals(_complete, flight))
                {
                    _complete = null;
                }

                await flight.Stop.CancelAsync();
            }
        }
    }

    private async Task RunAsync(CompleteFlight flight, ChatRequest request, RouterContext context, CacheArgs args)
    {
        try
        {
            var completion = await Task.Run(() => engine.CompleteAsync(request, context, flight.Stop.Token, CacheStatus.Miss), CancellationToken.None);
            await storage.WriteAsync(args, new CachedAnswer { Completion = completion });
            flight.Result.TrySetResult(completion);
        }
        catch (Exception ex)
        {
            flight.Result.TrySetException(ex);
        }
        finally
        {
            if (ReferenceEquals(_complete, flight))
            {
                _complete = null;
            }

            flight.Stop.Dispose();
        }
    }

    public async Task<StreamTicket> OpenAsync(ChatRequest request, RouterContext context, CacheArgs args)
    {
        if (_streaming is null && args.Lookup && await storage.ReadAsync(args) is { Items: { } stored })
        {
            return new StreamTicket(CacheStatus.Hit, 0, stored);
        }

        var flight = _streaming;
        var leader = flight is null;
        if (flight is null)
        {
            flight = _streaming = new StreamFlight(++_nextFlight);
            _streams[flight.Id] = flight;
            flight.Run = PumpAsync(flight, request, context, args);
        }

        flight.Readers++;
        return new StreamTicket(leader ? CacheStatus.Miss : CacheStatus.Coalesced, flight.Id, null);
    }

    public async Task<StreamBatch> ReadAsync(long flight, int from, CancellationToken cancellationToken = default)
    {
        if (!_streams.TryGetValue(flight, out var f))
        {
            throw new InvalidOperationException($"No streamed flight {flight} here (its silo may have restarted).");
        }

        while (true)
        {
            if (f.Items.Count == 0 && f.Failure is { } failure)
            {
                Leave(f);
                throw failure;
            }

            if (f.Items.Count > from || f.Done)
            {
                var batch = f.Items.Count > from ? f.Items.GetRange(from, f.Items.Count - from) : [];
                if (f.Done)
                {
                    Leave(f);
                }

                return new StreamBatch(batch, f.Done);
            }

            try
            {
                await f.Changed.Task.WaitAsync(ReadWait, cancellationToken);
            }
            catch (TimeoutException)
            {
                return new StreamBatch([], false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Leave(f);
                throw;
            }
        }
    }

    public Task LeaveAsync(long flight)
    {
        if (_streams.TryGetValue(flight, out var f))
        {
            Leave(f);
        }

        return Task.CompletedTask;
    }

    private void Leave(StreamFlight flight)
    {
        if (flight.Readers > 0 && --flight.Readers == 0)
        {
            if (!flight.Done)
            {
                // The last reader left before the end: the upstream call is abandoned (and billed for what came), and the
                // next request starts its own.
                if (ReferenceEquals(_streaming, flight))
                {
                    _streaming = null;
                }

                flight.Stop.Cancel();
            }
            else
            {
                _streams.Remove(flight.Id);
            }
        }
    }

    private async Task PumpAsync(StreamFlight flight, ChatRequest request, RouterContext context, CacheArgs args)
    {
        var stream = engine.StreamAsync(request, context, flight.Stop.Token, CacheStatus.Miss).GetAsyncEnumerator(flight.Stop.Token);
        try
        {
            while (await Task.Run(() => stream.MoveNextAsync().AsTask(), CancellationToken.None))
            {
                flight.Add(stream.Current);
            }
        }
        catch (Exception ex)
        {
            if (flight.Items.Count == 0)
            {
                flight.Failure = ex;
            }
            else
            {
                // After the first item the stream ends with an error item, as any stream does.
                flight.Add(new ChatStreamItem { FinishReason = "error", ErrorClass = ProviderErrorClass.Cancelled, ErrorMessage = "the shared upstream stream ended early" });
            }
        }
        finally
        {
            await Task.Run(() => stream.DisposeAsync().AsTask(), CancellationToken.None);
        }

        if (ReferenceEquals(_streaming, flight))
        {
            _streaming = null; // from now on identical requests read the stored answer, or start a new flight
        }

        if (flight.Failure is null && flight.Items.Count > 0 && flight.Items[^1] is { ErrorClass: null, Usage: not null } last && last.FinishReason != "error")
        {
            await storage.WriteAsync(args, new CachedAnswer { Items = [.. flight.Items] });
        }

        flight.Done = true;
        flight.Signal();
        if (flight.Readers == 0)
        {
            _streams.Remove(flight.Id);
        }

        flight.Stop.Dispose();
        LogFlightEnded(logger, flight.Id, flight.Items.Count);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shared stream {Flight} ended after {Items} items")]
    private static partial void LogFlightEnded(ILogger logger, long flight, int items);

    private sealed class CompleteFlight
    {
        public TaskCompletionSource<ChatCompletion> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenSource Stop { get; } = new();

        public int Waiters { get; set; }

        public Task? Run { get; set; }
    }

    private sealed class StreamFlight(long id)
    {
        public long Id { get; } = id;

        public List<ChatStreamItem> Items { get; } = [];

        public bool Done { get; set; }

        public Exception? Failure { get; set; }

        public int Readers { get; set; }

        public CancellationTokenSource Stop { get; } = new();

        public TaskCompletionSource Changed { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task? Run { get; set; }

        public void Add(ChatStreamItem item)
        {
            Items.Add(item);
            Signal();
        }

        public void Signal()
        {
            var changed = Changed;
            Changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.TrySetResult();
        }
    }
}
