using System.Collections.Concurrent;
using System.Globalization;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orleans.LlmRouter.Grains.Tests.Budgets;

/// <summary>
/// Grain storage that behaves like the ADO.NET provider where it matters to a grain: the state is serialized only
/// after the write has started waiting (ADO.NET opens its connection first), versions are checked (a stale write
/// throws <see cref="InconsistentStateException"/>), and a test can hold the next write of a grain before it
/// serializes and make every write after it fail (a silo that died right after that write: nothing later lands).
/// </summary>
internal sealed class HeldWriteStorage(Serializer serializer) : IGrainStorage
{
    private readonly ConcurrentDictionary<GrainId, (byte[] Payload, int Version)> _rows = new();
    private readonly ConcurrentDictionary<GrainId, Hold> _holds = new();
    private volatile bool _failWrites;

    /// <summary>When set, every write fails (the state stays as last written).</summary>
    public bool FailWrites { get => _failWrites; set => _failWrites = value; }

    /// <summary>
    /// Holds the next write of <paramref name="grain"/> before it serializes. <see cref="Hold.Reached"/> completes when
    /// the write waits; completing <see cref="Hold.Release"/> lets it go on; it is stored, and from then on every write
    /// fails (<see cref="FailWrites"/>).
    /// </summary>
    public Hold HoldNextWriteThenFail(GrainId grain) => _holds[grain] = new Hold();

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_rows.TryGetValue(grainId, out var row))
        {
            grainState.State = serializer.Deserialize<T>(row.Payload);
            grainState.ETag = row.Version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }

        return Task.CompletedTask;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await Task.Yield(); // like a connection being opened: the grain's next turns may run from here on
        if (_holds.TryRemove(grainId, out var hold))
        {
            hold.Waiting.TrySetResult();
            await hold.Release.Task;
            Store(grainId, grainState);
            FailWrites = true;
            return;
        }

        if (FailWrites)
        {
            throw new IOException("storage unreachable (test)");
        }

        Store(grainId, grainState);
    }

    private void Store<T>(GrainId grainId, IGrainState<T> grainState)
    {
        var payload = serializer.SerializeToArray(grainState.State);
        var expected = grainState.ETag is { } etag ? int.Parse(etag, CultureInfo.InvariantCulture) : 0;
        var current = _rows.TryGetValue(grainId, out var row) ? row.Version : 0;
        if (current != expected)
        {
            throw new InconsistentStateException($"version {expected} is stale; stored {current}");
        }

        _rows[grainId] = (payload, current + 1);
        grainState.ETag = (current + 1).ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _rows.TryRemove(grainId, out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    internal sealed class Hold
    {
        internal TaskCompletionSource Waiting { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Reached => Waiting.Task;

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
