using System.Text.Json;
using Distill.Core.Errors;

namespace Distill.Generation.Batch;

/// <summary>
/// The batches in flight, in <c>&lt;dataset&gt;/batch/state.json</c>: each id written right after its batch is created and removed
/// once its results are downloaded, so a crashed run's batches (already paid for) are picked up by <c>--resume</c> instead of
/// submitted again. Holds ids and the teacher's name only, never a key. Written to a temp file and renamed.
/// </summary>
public sealed class BatchState
{
    public const string Folder = "batch";
    public const string FileName = "state.json";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly string _path;
    private readonly Lock _lock = new();
    private readonly List<string> _inFlight;
    private string? _teacher;

    private BatchState(string path, string? teacher, List<string> inFlight)
    {
        _path = path;
        _teacher = teacher;
        _inFlight = inFlight;
    }

    /// <summary>Path of the state file of the dataset in <paramref name="datasetDir"/>.</summary>
    public static string PathIn(string datasetDir) => Path.Combine(datasetDir, Folder, FileName);

    public static BatchState Load(string datasetDir)
    {
        var path = PathIn(datasetDir);
        if (!File.Exists(path)) return new BatchState(path, null, []);
        try
        {
            var stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(path), Json);
            return new BatchState(path, stored?.Teacher, [.. stored?.InFlight ?? []]);
        }
        catch (JsonException e)
        {
            throw new DistillException($"{path} is not a batch state file ({e.Message})", "restore it, or delete it to abandon the batches it listed");
        }
    }

    /// <summary>The teacher whose batches these are; null when none was ever submitted.</summary>
    public string? Teacher
    {
        get { lock (_lock) return _teacher; }
    }

    /// <summary>Batch ids submitted and not yet downloaded.</summary>
    public IReadOnlyList<string> InFlight
    {
        get { lock (_lock) return [.. _inFlight]; }
    }

    public void Add(string teacher, string batchId)
    {
        lock (_lock)
        {
            _teacher = teacher;
            _inFlight.Add(batchId);
            Save();
        }
    }

    public void Remove(string batchId)
    {
        lock (_lock)
        {
            if (_inFlight.Remove(batchId)) Save();
        }
    }

    private void Save()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var temp = _path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, new Stored(_teacher, _inFlight), Json);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, _path, overwrite: true);
    }

    private sealed record Stored(string? Teacher, List<string> InFlight);
}
