using System.Text.Json;
using System.Text.Json.Serialization;
using Distill.Models.SafeTensors;
using Distill.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Training.Trainer;

/// <summary>
/// Everything besides tensors that an exact resume needs (torchtune's recipe state, plus what nanoGPT leaves out).
/// RNG: the trainer reseeds torch's generator with (seed, step) at the start of every step and the data order depends only on
/// (seed, epoch), so the seed and the positions below determine every later random draw; no opaque generator blob is needed.
/// </summary>
public sealed record TrainerState
{
    [JsonPropertyName("step")] public int Step { get; init; }
    [JsonPropertyName("optimizer_step")] public long OptimizerStep { get; init; }
    [JsonPropertyName("lr_scheduler_step")] public int LrSchedulerStep { get; init; }
    [JsonPropertyName("seed")] public int Seed { get; init; }
    [JsonPropertyName("data_epoch")] public int DataEpoch { get; init; }
    [JsonPropertyName("data_batch")] public int DataBatch { get; init; }
    [JsonPropertyName("best_val_loss")] public double? BestValLoss { get; init; }
    [JsonPropertyName("evals_without_improvement")] public int EvalsWithoutImprovement { get; init; }
    [JsonPropertyName("tokens_seen")] public long TokensSeen { get; init; }
    [JsonPropertyName("finished")] public bool Finished { get; init; }
    [JsonPropertyName("stop_reason")] public string? StopReason { get; init; }

    [JsonIgnore] public DataPosition DataPosition => new(DataEpoch, DataBatch);
}

/// <summary>
/// The resume checkpoint: <c>&lt;run&gt;/checkpoint/</c> holds trainable.safetensors (every trainable tensor by name),
/// optimizer.safetensors (AdamW exp_avg / exp_avg_sq) and trainer_state.json. It is written into a temp folder and swapped in
/// with renames, so a kill at any moment leaves either the previous or the new checkpoint, never a mix.
/// </summary>
public static class Checkpoint
{
    public const string Folder = "checkpoint";
    public const string StateFile = "trainer_state.json";
    public const string TrainableFile = "trainable.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string PathIn(string runDir) => Path.Combine(runDir, Folder);

    /// <summary>The checkpoint folder to resume from, or null (a previous swap interrupted after the first rename leaves ".old").</summary>
    public static string? Find(string runDir)
    {
        var current = PathIn(runDir);
        if (File.Exists(Path.Combine(current, StateFile))) return current;
        var old = current + ".old";
        return File.Exists(Path.Combine(old, StateFile)) ? old : null;
    }

    public static void Save(string runDir, IEnumerable<(string Name, Tensor Tensor)> trainable, AdamW optimizer, TrainerState state)
    {
        var target = PathIn(runDir);
        var tmp = $"{target}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(tmp);
        SafeTensorsWriter.Save(Path.Combine(tmp, TrainableFile), trainable.Select(t => KeyValuePair.Create(t.Name, t.Tensor)));
        SafeTensorsWriter.Save(Path.Combine(tmp, OptimizerFile), optimizer.StateTensors(),
            new Dictionary<string, string> { ["step"] = optimizer.StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        File.WriteAllText(Path.Combine(tmp, StateFile), JsonSerializer.Serialize(state, Json));
        var old = target + ".old";
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        if (Directory.Exists(target)) Directory.Move(target, old);
        Directory.Move(tmp, target);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
    }

    /// <summary>The state, or null when the folder is being swapped right now (for watchers polling a live run).</summary>
    public static TrainerState? ReadStateOrNull(string checkpointDir)
    {
        try
        {
            return ReadState(checkpointDir);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static TrainerState ReadState(string checkpointDir) =>
        JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(Path.Combine(checkpointDir, StateFile)), Json)
        ?? throw new InvalidDataException($"{checkpointDir}/{StateFile} is empty");

    /// <summary>Copies the saved trainable tensors into <paramref name="trainable"/> and restores the optimizer.</summary>
    public static void Load(string checkpointDir, IEnumerable<(string Name, Tensor Tensor)> trainable, AdamW optimizer, TrainerState state)
    {
        using (var file = SafeTensorsFile.Open(Path.Combine(checkpointDir, TrainableFile)))
        using (no_grad())
        {
            foreach (var (name, t) in trainable)
            {
                if (!file.Contains(name))
                    throw new Core.Errors.DistillException($"the checkpoint in {checkpointDir} has no tensor '{name}'",
                        "the run folder belongs to a different model or LoRA setup: use a new --out folder");
                using var saved = file.Read(name);
                t.copy_(saved);
            }
        }
        using var opt = SafeTensorsFile.Open(Path.Combine(checkpointDir, OptimizerFile));
        optimizer.LoadState(name => opt.Contains(name) ? opt.Read(name) : null, state.OptimizerStep);
    }

    /// <summary>Deletes temp folders a killed save left behind.</summary>
    public static void CleanTemp(string runDir)
    {
        if (!Directory.Exists(runDir)) return;
        foreach (var dir in Directory.GetDirectories(runDir, Folder + ".tmp-*")) Directory.Delete(dir, recursive: true);
    }
}
