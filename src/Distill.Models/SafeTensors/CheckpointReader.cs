using System.Text.Json;
using Distill.Core.Errors;
using static TorchSharp.torch;

namespace Distill.Models.SafeTensors;

/// <summary>
/// The weights of a model folder: a single `model.safetensors`, or shards listed by `model.safetensors.index.json`
/// (`{"metadata": {...}, "weight_map": {"name": "model-00001-of-00002.safetensors"}}`), as `transformers` writes them.
/// </summary>
public sealed class CheckpointReader : IDisposable
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    readonly Dictionary<string, SafeTensorsFile> _byTensor = new(StringComparer.Ordinal);
    readonly List<SafeTensorsFile> _files = [];

    public IReadOnlyCollection<string> Names => _byTensor.Keys;

    public static bool Exists(string dir) =>
        File.Exists(Path.Combine(dir, SingleFile)) || File.Exists(Path.Combine(dir, IndexFile));

    public static CheckpointReader Open(string dir)
    {
        var reader = new CheckpointReader();
        try
        {
            var index = Path.Combine(dir, IndexFile);
            var single = Path.Combine(dir, SingleFile);
            if (File.Exists(single)) reader.Add(SafeTensorsFile.Open(single), null);
            else if (File.Exists(index)) reader.OpenShards(dir, index);
            else
                throw new DistillException($"no weights in {dir}: expected {SingleFile} or {IndexFile}",
                    "point --model at a folder saved by `distill` or `transformers` (save_pretrained with safe_serialization)");
            return reader;
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    void OpenShards(string dir, string index)
    {
        Dictionary<string, string> weightMap;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(index));
            weightMap = doc.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new DistillException($"{index} is malformed: {e.Message}", "it must have a \"weight_map\" object of tensor name -> shard file", e);
        }
        foreach (var shard in weightMap.Values.Distinct())
        {
            var shardPath = Path.Combine(dir, shard);
            if (!File.Exists(shardPath))
                throw new DistillException($"shard {shard} listed in {index} is missing", "copy every model-*.safetensors file of the checkpoint");
            var file = SafeTensorsFile.Open(shardPath);
            Add(file, weightMap.Where(kv => kv.Value == shard).Select(kv => kv.Key).ToHashSet());
        }
        foreach (var name in weightMap.Keys)
            if (!_byTensor.ContainsKey(name))
                throw new DistillException($"tensor '{name}' is listed in {index} but missing from {weightMap[name]}", "the checkpoint is incomplete");
    }

    void Add(SafeTensorsFile file, HashSet<string>? only)
    {
        _files.Add(file);
        foreach (var name in file.Tensors.Keys)
            if (only is null || only.Contains(name)) _byTensor[name] = file;
    }

    public bool Contains(string name) => _byTensor.ContainsKey(name);

    public SafeTensorInfo Info(string name) => _byTensor[name].Tensors[name];

    public string FileOf(string name) => _byTensor[name].Path;

    public Tensor Read(string name) =>
        _byTensor.TryGetValue(name, out var f) ? f.Read(name)
            : throw new DistillException($"tensor '{name}' is missing from the checkpoint", "the checkpoint does not match the model config");

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
        _files.Clear();
    }
}
