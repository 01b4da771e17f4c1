namespace Distill.Training.Data;

/// <summary>Which objective a token's label belongs to (step-by-step distillation trains two tasks on one student).</summary>
public enum ExampleTask
{
    /// <summary>The conversation as the teacher wrote it (or, for CoT multi-task, the answer-only task).</summary>
    Main,
    /// <summary>The rationale task of distilling step-by-step: the final assistant turn is the teacher's rationale.</summary>
    Rationale,
}

/// <summary>
/// One encoded sample, already shifted for next-token prediction: <see cref="InputIds"/>[t] is fed to the model and
/// <see cref="Labels"/>[t] is the token it must predict there (the original token t + 1 when that token is assistant output,
/// -100 otherwise). When stored teacher logprobs were aligned, row t of <see cref="TopKIds"/> / <see cref="TopKLogprobs"/>
/// ([Length, K] flattened) holds the teacher's top-k for that prediction, -1 / 0 where missing. <see cref="PromptLabels"/>, when
/// the encoder was asked for them, is the complement of <see cref="Labels"/>: the next token where it is prompt text (system,
/// user, tool results), -100 where it is assistant output.
/// </summary>
public sealed record TrainExample(string Id, int[] InputIds, int[] Labels, int[]? TopKIds, float[]? TopKLogprobs, int K,
    ExampleTask Task = ExampleTask.Main, int[]? PromptLabels = null)
{
    public int Length => InputIds.Length;

    /// <summary>Positions that carry a label.</summary>
    public int LabelCount => Labels.Count(l => l != TokenizedChatLabels.Ignore);
}

/// <summary>The "ignore this position" label shared with the losses (-100).</summary>
public static class TokenizedChatLabels
{
    public const int Ignore = -100;
}
