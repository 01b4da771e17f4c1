using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Core.Errors;

namespace Distill.Generation.Batch;

/// <summary>
/// The batches in flight, in <c>&lt;dataset&gt;/batch/state.json</c>, by teacher (a routed run has one batch teacher per
/// routed teacher): each id written right after its batch is created and removed once its results are downloaded, so a crashed
/// run's batches (already paid for) are picked up by <c>--resume</c> instead of submitted again. Holds ids and teacher names
/// only, never a key. Written to a temp file and renamed. Reads the single-teacher file of earlier versions too
/// (<c>{"teacher": "...", "in_flight": ["..."]}</c>).
/// </summary>
public sealed class BatchState
{
    public const string Folder = "batch";
    public const string FileName = "state.json";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private readonly string _path;
    private readonly Lock _lock = new();

    /// <summary>Teacher name -> its batch ids in flight, in submission order.</summary>
    private readonly SortedDictionary<string, List<string>> _inFlight;

    private BatchState(string path, SortedDictionary<string, List<string>> inFlight)
    {
        _path = path;
        _inFlight = inFlight;
    }

    /// <summary>This state's file.</summary>
    public string FilePath => _path;

    /// <summary>Path of the state file of the dataset in <paramref name="datasetDir"/>.</summary>
    public static string PathIn(string datasetDir) => Path.Combine(datasetDir, Folder, FileName);

    public static BatchState Load(string datasetDir)
    {
        var path = PathIn(datasetDir);
        var inFlight = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        if (!File.Exists(path)) return new BatchState(path, inFlight);
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not a JSON object");
            switch (root["in_flight"])
            {
                case JsonObject byTeacher:
                    foreach (var (teacher, ids) in byTeacher) inFlight[teacher] = Ids(ids);
                    break;
                case JsonArray ids when ids.Count > 0:
                    inFlight[root["teacher"]?.GetValue<string>() ?? throw new JsonException("batch ids without a teacher")] = Ids(ids);
                    break;
            }
            return new BatchState(path, inFlight);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new DistillException($"{path} is not a batch state file ({e.Message})", "restore it, or delete it to abandon the batches it listed");
        }
    }

    private static List<string> Ids(JsonNode? ids) =>
        (ids as JsonArray ?? throw new JsonException("a teacher's batch ids are not a list")).Select(id => id!.GetValue<string>()).ToList();

    /// <summary>Every batch id submitted and not yet downloaded, of every teacher.</summary>
    public IReadOnlyList<string> InFlight
    {
        get { lock (_lock) return [.. _inFlight.Values.SelectMany(ids => ids)]; }
    }

    /// <summary>The teachers with batches in flight, in name order.</summary>
    public IReadOnlyList<string> Owners
    {
        get { lock (_lock) return [.. _inFlight.Keys]; }
    }

    /// <summary>The batch ids of <paramref name="teacher"/> submitted and not yet downloaded.</summary>
    public IReadOnlyList<string> InFlightOf(string teacher)
    {
        lock (_lock) return _inFlight.TryGetValue(teacher, out var ids) ? [.. ids] : [];
    }

    public void Add(string teacher, string batchId)
    {
        lock (_lock)
        {
            if (!_inFlight.TryGetValue(teacher, out var ids)) _inFlight[teacher] = ids = [];
            ids.Add(batchId);
            Save();
        }
    }

    public void Remove(string batchId)
    {
        lock (_lock)
        {
            var owner = _inFlight.FirstOrDefault(t => t.Value.Contains(batchId, StringComparer.Ordinal));
            if (owner.Value is null) return;
            owner.Value.Remove(batchId);
            if (owner.Value.Count == 0) _inFlight.Remove(owner.Key);
            Save();
        }
    }

    private void Save()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var byTeacher = new JsonObject();
        foreach (var (teacher, ids) in _inFlight) byTeacher[teacher] = new JsonArray([.. ids.Select(id => (JsonNode?)id)]);
        var temp = _path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, new JsonObject { ["in_flight"] = byTeacher }, Json);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, _path, overwrite: true);
    }
}
