using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distill.Training.Metrics;

/// <summary>One line of metrics.jsonl: a training step (kind "train") or an evaluation (kind "eval").</summary>
public sealed record MetricsRecord(string Kind, int Step, IReadOnlyDictionary<string, double> Values)
{
    public double? this[string key] => Values.TryGetValue(key, out var v) ? v : null;
}

/// <summary>
/// metrics.jsonl in the run folder: one JSON object per line, flushed as it is written. On resume the lines after the checkpoint
/// step are dropped first, so the file reads as one uninterrupted run.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    public const string FileName = "metrics.jsonl";
    private readonly StreamWriter _writer;

    public MetricsLog(string runDir, int resumeStep)
    {
        Path = System.IO.Path.Combine(runDir, FileName);
        var kept = File.Exists(Path) ? File.ReadAllLines(Path).Where(l => Parse(l) is { } r && r.Step <= resumeStep && resumeStep > 0).ToList() : [];
        File.WriteAllLines(Path, kept);
        _writer = new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
    }

    public string Path { get; }

    public void Write(string kind, int step, IReadOnlyDictionary<string, double> values)
    {
        var o = new JsonObject { ["kind"] = kind, ["step"] = step };
        foreach (var (k, v) in values) o[k] = double.IsFinite(v) ? v : null;
        _writer.WriteLine(o.ToJsonString());
    }

    public static IReadOnlyList<MetricsRecord> Read(string path) =>
        File.Exists(path) ? File.ReadAllLines(path).Select(Parse).OfType<MetricsRecord>().ToList() : [];

    static MetricsRecord? Parse(string line)
    {
        if (string.IsNullOrWhiteSpace(line)) return null;
        try
        {
            var o = JsonNode.Parse(line)!.AsObject();
            var values = new Dictionary<string, double>();
            foreach (var (k, v) in o)
                if (k is not ("kind" or "step") && v is JsonValue jv && jv.TryGetValue<double>(out var d)) values[k] = d;
            return new MetricsRecord(o["kind"]!.GetValue<string>(), o["step"]!.GetValue<int>(), values);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            return null; // a line torn by a kill
        }
    }

    public void Dispose() => _writer.Dispose();

    internal static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
