using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Ledger;

/// <summary>
/// The spool directory of <see cref="PostgresLedger"/>: records waiting for PostgreSQL, one NDJSON file per ledger
/// instance (<c>ledger-spool-&lt;instance id&gt;.ndjson</c>), each held open with an exclusive OS lock
/// (<see cref="FileShare.None"/>: <c>flock</c> on Linux, a share-mode lock on Windows) for as long as its owner lives.
/// A file whose lock can be taken has no living owner: it is adopted — locked, read, replayed, then deleted — by
/// whichever instance finds it first. With the directory on a volume shared by the silos, a dead silo's spool is
/// replayed by a living one. Not thread-safe: the ledger serializes calls.
/// </summary>
internal sealed class LedgerSpool : IDisposable
{
    public const string Prefix = "ledger-spool-";
    public const string QuarantinePrefix = "ledger-quarantine-";
    public const string Extension = ".ndjson";

    private readonly string _directory;
    private readonly string _ownPath;
    private readonly FileStream _own;
    private readonly List<LedgerRecord> _ownRecords = [];
    private readonly List<Adopted> _adopted = [];

    public LedgerSpool(string directory, string instanceId)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        _ownPath = Path.Combine(directory, Prefix + instanceId + Extension);
        // Held for the life of the instance: the lock is what tells other instances that the owner is alive.
        _own = new FileStream(_ownPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 4096, FileOptions.None);
        QuarantinePath = Path.Combine(directory, QuarantinePrefix + instanceId + Extension);
    }

    /// <summary>This instance's local quarantine file (used only when the quarantine table cannot take a row).</summary>
    public string QuarantinePath { get; }

    public string OwnPath => _ownPath;

    /// <summary>Records waiting: this instance's own and those adopted from instances that are gone.</summary>
    public int Count => _ownRecords.Count + _adopted.Sum(a => a.Records.Count);

    public IEnumerable<LedgerRecord> Records => _ownRecords.Concat(_adopted.SelectMany(a => a.Records));

    /// <summary>Appends records to this instance's file and flushes them to disk before returning.</summary>
    public void Append(IEnumerable<LedgerRecord> records)
    {
        var added = records.ToList();
        _own.Seek(0, SeekOrigin.End);
        foreach (var record in added)
        {
            _own.Write(JsonSerializer.SerializeToUtf8Bytes(record, LedgerJson.Default.LedgerRecord));
            _own.WriteByte((byte)'\n');
        }

        _own.Flush(flushToDisk: true);
        _ownRecords.AddRange(added);
    }

    /// <summary>
    /// Takes every spool file in the directory whose lock is free (its owner is gone): locks it and loads its records.
    /// Returns how many records were adopted. A file still locked by a living instance is left alone.
    /// </summary>
    public int AdoptOrphans(Action<string, int>? tornLine = null)
    {
        var adopted = 0;
        foreach (var path in Directory.EnumerateFiles(_directory, Prefix + "*" + Extension))
        {
            if (path == _ownPath || _adopted.Any(a => a.Path == path))
            {
                continue;
            }

            FileStream stream;
            try
            {
                stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 4096, FileOptions.None);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // locked by a living owner, or already taken and deleted by another instance
            }

            var records = Read(stream, path, tornLine);
            _adopted.Add(new Adopted(path, stream, records));
            adopted += records.Count;
        }

        return adopted;
    }

    /// <summary>Forgets every record (they are in PostgreSQL now): empties this instance's file and deletes adopted ones.</summary>
    public void Clear()
    {
        if (_own.Length > 0)
        {
            _own.SetLength(0);
            _own.Flush(flushToDisk: true);
        }

        _ownRecords.Clear();
        foreach (var a in _adopted)
        {
            // Deleted while still locked, so no other instance can adopt the file in between.
            File.Delete(a.Path);
            a.Stream.Dispose();
        }

        _adopted.Clear();
    }

    /// <summary>Releases the locks. This instance's file is deleted when empty; otherwise it stays for adoption.</summary>
    public void Dispose()
    {
        var empty = _ownRecords.Count == 0;
        if (empty)
        {
            File.Delete(_ownPath);
        }

        _own.Dispose();
        foreach (var a in _adopted)
        {
            a.Stream.Dispose();
        }

        _adopted.Clear();
    }

    private static List<LedgerRecord> Read(FileStream stream, string path, Action<string, int>? tornLine)
    {
        var records = new List<LedgerRecord>();
        stream.Seek(0, SeekOrigin.Begin);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        var number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                if (JsonSerializer.Deserialize(line, LedgerJson.Default.LedgerRecord) is { } record)
                {
                    records.Add(record);
                }
            }
            catch (JsonException)
            {
                // A line torn by a crash mid-write: its append never completed, so no caller was told it was recorded.
                tornLine?.Invoke(Path.GetFileName(path), number);
            }
        }

        return records;
    }

    private sealed record Adopted(string Path, FileStream Stream, List<LedgerRecord> Records);
}
