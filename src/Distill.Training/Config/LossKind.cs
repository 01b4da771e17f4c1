using System.Text.Json.Serialization;

namespace Distill.Training.Config;

/// <summary>What a run trains on (<c>loss.kind</c>), named in configs as the snake_case names below.</summary>
public enum LossKind
{
    /// <summary>"sft": cross-entropy on the teacher's outputs (sequence-level KD).</summary>
    Sft,

    /// <summary>"topk_kd": sparse logit KD from the stored top-k teacher logprobs (optionally staged into online KD).</summary>
    [JsonStringEnumMemberName("topk_kd")]
    TopKKd,

    /// <summary>"online_kd": full-distribution KD from a local teacher sharing the tokenizer.</summary>
    OnlineKd,

    /// <summary>"cot": distilling step-by-step (answer task + rationale task).</summary>
    Cot,
}

/// <summary>The loss kinds by their config names' constants, so <c>kind is LossKinds.TopKKd or LossKinds.OnlineKd</c> reads as before.</summary>
public static class LossKinds
{
    public const LossKind Sft = LossKind.Sft;
    public const LossKind TopKKd = LossKind.TopKKd;
    public const LossKind OnlineKd = LossKind.OnlineKd;
    public const LossKind Cot = LossKind.Cot;
    public static readonly IReadOnlyList<LossKind> All = Enum.GetValues<LossKind>();
}
