using Distill.Models.Native;
using static TorchSharp.torch;

namespace Distill.Bench.Tests;

public sealed class TrainingBenchmarkTests
{
    [Fact]
    public void Every_row_is_timed_and_the_training_rows_are_the_objectives_distill_train_runs()
    {
        TorchNative.EnsureLoaded();
        var result = TrainingBenchmark.Run(CPU, batch: 1, sequenceLength: 16, steps: 1, topK: 4, vocab: 256, smallVocab: 64);

        Assert.Equal(Enum.GetValues<TrainingBenchmark.Row>().Length, result.Variants.Count);
        Assert.All(result.Variants, v => Assert.True(v.StepSeconds > 0 && double.IsFinite(v.TokensPerSecond), v.ToString()));
        // Rows are named for the loss.kind they run; the two reference rows say that they are.
        Assert.StartsWith("sft", result[TrainingBenchmark.Row.Sft].Name);
        Assert.StartsWith("topk_kd", result[TrainingBenchmark.Row.TopKKd].Name);
        Assert.StartsWith("online_kd", result[TrainingBenchmark.Row.OnlineKd].Name);
        Assert.StartsWith("reference", result[TrainingBenchmark.Row.SftPlusTeacherForward].Name);
        Assert.Contains("logits", result[TrainingBenchmark.Row.SftPlusTeacherForward].Name);
        Assert.StartsWith("reference", result[TrainingBenchmark.Row.SftPlusTeacherBody].Name);
        Assert.True(result.SftMfu > 0);
    }
}
